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
    {%- if is_incremental() -%}
        {%- set start = window_start() -%}
        delete from {{ this }}
        {%- if start is not none %} where {{ date_column }} >= {{ start }}{% endif %}
    {%- endif -%}
{%- endmacro %}
