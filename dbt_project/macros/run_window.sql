{#
    The landing-day window of the current run, from vars min_date / max_date
    ('YYYY-MM-DD'; null = full build), else from the environment variables
    OPS_DBT_MIN_DATE / OPS_DBT_MAX_DATE, which is how Dagster passes it.

    window_start(): the first business date an incremental run recomputes,
    min_date - lookback_days, as a SQL date literal; none on a full build.
    window_start(extra_days=1) moves it further back, e.g. to bound a scan on
    a UTC timestamp whose business date may be a day later.

    window_end(): max_date as a SQL date literal, or none.

    Both are rendered in Jinja to `cast('YYYY-MM-DD' as date)`, which every
    database reads the same way.
#}
{% macro _run_window_date(var_name) -%}
    {%- set value = var(var_name, none) -%}
    {%- if value is none or (value | string | trim) in ('', 'None', 'null') -%}
        {#- Dagster passes the window as OPS_DBT_MIN_DATE / OPS_DBT_MAX_DATE: unlike
            --vars, a changed environment keeps dbt's partial parsing. -#}
        {%- set value = env_var('OPS_DBT_' ~ (var_name | upper), '') -%}
    {%- endif -%}
    {%- if value is none or (value | string | trim) in ('', 'None', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("var " ~ var_name ~ " must be a date 'YYYY-MM-DD' or null, got: " ~ text) }}
    {%- endif -%}
    {{ return(modules.datetime.date.fromisoformat(text)) }}
{%- endmacro %}

{% macro _date_literal(day) -%}
    {{ return("cast('" ~ day.isoformat() ~ "' as date)") }}
{%- endmacro %}

{% macro window_start(extra_days=0) -%}
    {%- set min_date = _run_window_date('min_date') -%}
    {%- if min_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set days_back = (var('lookback_days') | int) + (extra_days | int) -%}
    {{ return(_date_literal(min_date - modules.datetime.timedelta(days=days_back))) }}
{%- endmacro %}

{% macro window_end() -%}
    {%- set max_date = _run_window_date('max_date') -%}
    {%- if max_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(_date_literal(max_date)) }}
{%- endmacro %}

{#
    in_run_window(date_column): the rows an incremental model recomputes on
    this run, as a filter: `date_column >= window_start()` on a windowed
    incremental run, `true` on a first build or a full recompute. The
    delete_run_window pre_hook removes exactly these rows beforehand.
#}
{% macro in_run_window(date_column) -%}
    {%- set start = window_start() if is_incremental() else none -%}
    {%- if start is none -%}
        true
    {%- else -%}
        {{ date_column }} >= {{ start }}
    {%- endif -%}
{%- endmacro %}
