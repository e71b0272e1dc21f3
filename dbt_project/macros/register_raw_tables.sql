{#
    on-run-start hook: the raw layer as tables of the database raw, where the
    target needs that done by dbt. On DuckDB and PostgreSQL ingestion writes
    the raw tables itself: nothing to do. On Spark, ops_pipeline/spark.py
    writes each raw table as Parquet to <spark.sql.warehouse.dir>/raw.db/<table>/;
    this declares every table of source raw as an external Parquet table on
    that folder, anew on each run, so that its schema and files are the ones
    just written (dropping an external table keeps its files).

    on-run-start: "{{ register_raw_tables() }}"
#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables', 'ops_pipeline')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
{%- endmacro %}

{% macro spark__register_raw_tables() -%}
    {%- if execute -%}
        {%- set warehouse = run_query('set spark.sql.warehouse.dir').columns[1].values()[0] -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for source in graph.sources.values() if source.source_name == 'raw' -%}
            {%- set table = 'raw.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query("create table " ~ table ~ " using parquet location '"
                ~ warehouse.rstrip('/') ~ "/raw.db/" ~ source.identifier ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
