{#
    Models land in the schema named by their +schema config, as-is
    (staging, intermediate, marts), with no target-schema prefix: BI tools and
    Dagster read fixed schema names. Without a custom schema, the target's.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
