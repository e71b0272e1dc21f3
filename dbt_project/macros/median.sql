{#
    The median of a column within a group (the ordered-set aggregate, which
    DuckDB, PostgreSQL and Spark all have).

    {{ median('value') }} -> percentile_cont(0.5) within group (order by value)
#}
{% macro median(column) -%}
    {{ return(adapter.dispatch('median', 'ops_pipeline')(column)) }}
{%- endmacro %}

{% macro default__median(column) -%}
    percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}
