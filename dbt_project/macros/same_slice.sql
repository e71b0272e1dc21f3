{#
    Join condition of two relations of metrics at grain date x dimension x
    dimension_value (metrics_daily's building blocks):

    left join b on {{ same_slice('a', 'b') }}
#}
{% macro same_slice(left, right) -%}
    {{ left }}.date = {{ right }}.date
        and {{ left }}.dimension = {{ right }}.dimension
        and {{ left }}.dimension_value = {{ right }}.dimension_value
{%- endmacro %}
