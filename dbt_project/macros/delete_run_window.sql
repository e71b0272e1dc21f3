{#
    pre_hook of the append-only incremental models keyed on a business date:
    before the run inserts the dates it recomputes, delete exactly those dates
    from the existing table: date_column >= window_start() on a windowed run,
    every row on an incremental run without min_date (a full recompute). A
    date of the window that no longer has any row is emptied too, which
    delete+insert on the date key would miss. Nothing on a first build or a
    --full-refresh (the table is created anew).

    config(materialized='incremental', incremental_strategy='append',
           pre_hook="{{ delete_run_window('event_date') }}")
#}
{% macro delete_run_window(date_column) -%}
    {{ return(adapter.dispatch('delete_run_window', 'ops_pipeline')(date_column)) }}
{%- endmacro %}

{% macro default__delete_run_window(date_column) -%}
    {%- if is_incremental() -%}
        {%- set start = window_start() -%}
        delete from {{ this }}
        {%- if start is not none %} where {{ date_column }} >= {{ start }}{% endif %}
    {%- endif -%}
{%- endmacro %}

{#- Spark has no DELETE on Parquet tables: the incremental models are
    partitioned by date_column there (dbt_project.yml), and the dates to
    recompute are dropped as partitions (a partition spec takes no `>=`, so the
    existing partitions are listed first); a full recompute truncates. -#}
{% macro spark__delete_run_window(date_column) -%}
    {%- if is_incremental() and execute -%}
        {%- set start = window_start() -%}
        {%- if start is none -%}
            truncate table {{ this }}
        {%- else -%}
            {%- set first_day = start.split("'")[1] -%}
            {%- set prefix = date_column ~ '=' -%}
            {%- set dropped = [] -%}
            {%- for row in run_query('show partitions ' ~ this) -%}
                {%- set day = row[0][(prefix | length):] -%}
                {%- if row[0].startswith(prefix) and day >= first_day -%}
                    {%- do dropped.append("partition (" ~ date_column ~ " = '" ~ day ~ "')") -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if dropped -%}
                alter table {{ this }} drop if exists {{ dropped | join(', ') }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
