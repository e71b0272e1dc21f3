{#
    A double rounded to a number of decimal places, as a double. For ranking
    on floating-point sums and ratios: their last bits depend on the order of
    addition, which differs between engines (and between parallel runs), and
    must not decide ties. PostgreSQL has round(x, n) for numeric only.

    {{ round_double('audience_match', 12) }}
    -> round(audience_match, 12)                                                     -- DuckDB
    -> cast(round(cast(audience_match as numeric), 12) as {{ type_double() }})         -- PostgreSQL
#}
{% macro round_double(expression, decimals) -%}
    {{ return(adapter.dispatch('round_double', 'ops_pipeline')(expression, decimals)) }}
{%- endmacro %}

{% macro default__round_double(expression, decimals) -%}
    round({{ expression }}, {{ decimals | int }})
{%- endmacro %}

{% macro postgres__round_double(expression, decimals) -%}
    cast(round(cast({{ expression }} as numeric), {{ decimals | int }}) as {{ type_double() }})
{%- endmacro %}
