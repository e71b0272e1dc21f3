{#
    The weekday of a date as 0 (Monday) .. 6 (Sunday), portably: days since a
    Monday long before any business date, modulo 7.

    {{ weekday('date') }} -> mod(<days from 2000-01-03 to date>, 7)
#}
{% macro weekday(date_expression) -%}
    mod({{ dbt.datediff("cast('2000-01-03' as date)", date_expression, 'day') }}, 7)
{%- endmacro %}
