{#
    The business date of a timestamptz column: its calendar day in the
    reporting time zone (var timezone). `at time zone` on a timestamptz yields
    the local wall-clock timestamp on both DuckDB and PostgreSQL.

    {{ business_date('event_time') }}
    -> cast((event_time at time zone 'Asia/Shanghai') as date)
#}
{% macro business_date(column) -%}
    {{ return(adapter.dispatch('business_date', 'ops_pipeline')(column)) }}
{%- endmacro %}

{% macro default__business_date(column) -%}
    cast(({{ column }} at time zone '{{ var("timezone") }}') as date)
{%- endmacro %}

{#- Spark has no `at time zone`: its TIMESTAMP is an instant, from_utc_timestamp
    gives the wall-clock time of that instant in the zone. -#}
{% macro spark__business_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, '{{ var("timezone") }}'))
{%- endmacro %}
