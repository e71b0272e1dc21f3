{#
    The SQL type of a double-precision float: `double precision` is the
    standard spelling (DuckDB, PostgreSQL), Spark SQL knows only `double`.

    cast(x as {{ type_double() }}) -> cast(x as {{ type_double() }})
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'ops_pipeline')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
