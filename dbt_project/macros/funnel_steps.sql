{#
    funnel_steps(): var funnel_steps, checked: a non-empty list of
    {name, events: [event names]}; a compiler error names what is wrong.

    sql_string_list(['app_open', 'page_view']) -> 'app_open', 'page_view'
    (for an `in (...)` list; quotes doubled).
#}
{% macro funnel_steps() -%}
    {%- set steps = var('funnel_steps') -%}
    {%- if steps is string or steps is mapping or steps is not iterable or (steps | length) == 0 -%}
        {{ exceptions.raise_compiler_error("var funnel_steps must be a non-empty list of {name, events}") }}
    {%- endif -%}
    {%- for step in steps -%}
        {%- if step is not mapping or not step.get('name') or step.get('events') is string
            or step.get('events') is not iterable or (step.get('events') | length) == 0 -%}
            {{ exceptions.raise_compiler_error("funnel_steps[" ~ loop.index0 ~ "] must have a name and a non-empty list of events, got: " ~ step) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(steps) }}
{%- endmacro %}

{% macro sql_string_list(values) -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ')) }}
{%- endmacro %}
