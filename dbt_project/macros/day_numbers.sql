{#
    The whole numbers 0 .. 10^digits - 1 as a column `day_number`: the days
    of a span, portably (no generate_series). Use it as a CTE body.

    with day_numbers as ({{ day_numbers(3) }}) -> 0 .. 999
#}
{% macro day_numbers(digits) -%}
    {%- set places = range(digits) | list -%}
    select
        {% for place in places -%}
            {{ 10 ** place }} * digit_{{ place }}.digit{{ " +" if not loop.last }}
        {% endfor -%} as day_number
    from
        {%- for place in places %}
        {{ "cross join " if not loop.first }}(
            {%- for digit in range(10) %}
            select {{ digit }} as digit{{ " union all" if not loop.last }}
            {%- endfor %}
        ) as digit_{{ place }}
        {%- endfor %}
{%- endmacro %}
