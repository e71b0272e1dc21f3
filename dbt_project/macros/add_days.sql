{#
    A date moved by a whole number of days, as a date (dbt.dateadd yields a
    timestamp on DuckDB and PostgreSQL). `days` may be a literal or a column.

    {{ add_days('cohort_date', 7) }}
    -> cast((cohort_date + cast(7 as bigint) * interval 1 day) as date)  -- DuckDB
#}
{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}
