{#
    A top-level key of a JSON text column, as text (NULL when absent or not JSON).

    {{ json_text('properties', 'experiment_id') }}
    -> json_extract_string(properties, '$.experiment_id')  -- DuckDB
    -> (properties::json ->> 'experiment_id')              -- PostgreSQL
#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'ops_pipeline')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(column, key) -%}
    (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}

{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}
