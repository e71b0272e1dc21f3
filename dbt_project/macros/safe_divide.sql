{#
    numerator / denominator as a double, NULL when the denominator is 0 or
    NULL (docs/metrics.md: ratios are NULL, never 0, never an error). The cast
    keeps integer counts from integer division on PostgreSQL (type_double(): `double` on Spark).

    {{ safe_divide('clicks', 'impressions') }}
    -> (cast(clicks as double precision) / nullif(impressions, 0))
#}
{% macro safe_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_divide', 'ops_pipeline')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif({{ denominator }}, 0))
{%- endmacro %}
