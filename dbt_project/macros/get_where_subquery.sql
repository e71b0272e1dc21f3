{#
    dbt's get_where_subquery, plus one placeholder: a test on an incremental
    model may say `config: {where: "event_date >= __window_start__"}` to check
    only the dates the run recomputed. On a windowed run the placeholder
    becomes window_start(); on a full build the filter is dropped and the test
    reads every row. The dates before the window were tested when they were
    built, and the run did not touch them.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__window_start__' in where -%}
        {%- set start = window_start() -%}
        {%- set where = where | replace('__window_start__', start) if start is not none else none -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
