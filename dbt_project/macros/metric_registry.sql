{#
    The metric registry (models/marts/monitoring/_monitoring__metrics.yml and
    the semantic models of models/intermediate/metric_inputs/) read from
    dbt's graph, and the SQL generated from it. Only meaningful when dbt
    executes (the graph is empty while it parses).

    metric_registry() -> {name: {name, kind, column | numerator + denominator,
                                  table, dimensions, published, ...}}
    metrics_daily(inputs, reporting_dates) -> the SQL of marts.metrics_daily
#}

{% macro metric_registry() %}
    {%- set measures = {} -%}
    {%- for semantic_model in graph.semantic_models.values() -%}
        {%- for measure in semantic_model.measures -%}
            {%- do measures.update({measure.name: {
                'column': measure.expr or measure.name,
                'semantic_model': semantic_model.name,
                'table': semantic_model.node_relation.alias,
            }}) -%}
        {%- endfor -%}
    {%- endfor -%}

    {%- set simple = {} -%}
    {%- for metric in graph.metrics.values() if metric.type == 'simple' -%}
        {%- set measure = measures.get(metric.type_params.measure.name) -%}
        {%- if measure is none -%}
            {{ exceptions.raise_compiler_error("metric " ~ metric.name ~ ": no semantic model has the measure " ~ metric.type_params.measure.name) }}
        {%- endif -%}
        {%- do simple.update({metric.name: {
            'column': measure.column,
            'fill_nulls_with': metric.type_params.measure.fill_nulls_with,
            'semantic_model': measure.semantic_model,
            'table': measure.table,
        }}) -%}
    {%- endfor -%}

    {%- set registry = {} -%}
    {%- for metric in graph.metrics.values() | sort(attribute='name') -%}
        {%- set meta = metric.config.meta or metric.meta or {} -%}
        {%- set entry = {
            'name': metric.name,
            'dimensions': meta.get('dimensions', []),
            'published': meta.get('metrics_daily', true),
        } -%}
        {%- if metric.type == 'simple' -%}
            {%- do entry.update(simple[metric.name]) -%}
            {%- do entry.update({'kind': 'simple'}) -%}
        {%- elif metric.type == 'ratio' -%}
            {%- set inputs = [] -%}
            {%- for part in [metric.type_params.numerator, metric.type_params.denominator] -%}
                {%- if part.name not in simple -%}
                    {{ exceptions.raise_compiler_error("ratio metric " ~ metric.name ~ ": " ~ part.name ~ " is not a simple metric of the registry") }}
                {%- endif -%}
                {%- do inputs.append(simple[part.name]) -%}
            {%- endfor -%}
            {%- if inputs[0].semantic_model != inputs[1].semantic_model -%}
                {{ exceptions.raise_compiler_error("ratio metric " ~ metric.name ~ ": numerator and denominator come from different semantic models (" ~ inputs[0].semantic_model ~ ", " ~ inputs[1].semantic_model ~ ")") }}
            {%- endif -%}
            {%- do entry.update({'kind': 'ratio', 'numerator': inputs[0], 'denominator': inputs[1],
                                 'semantic_model': inputs[0].semantic_model, 'table': inputs[0].table}) -%}
        {%- else -%}
            {{ exceptions.raise_compiler_error("metric " ~ metric.name ~ ": type " ~ metric.type ~ " is not supported by metrics_daily (simple or ratio)") }}
        {%- endif -%}
        {%- do registry.update({metric.name: entry}) -%}
    {%- endfor -%}
    {{ return(registry) }}
{% endmacro %}


{#
    A ratio's input: its column, with fill_nulls_with where the registry sets it.
#}
{% macro _metric_input(input) -%}
    {%- if input.fill_nulls_with is none -%}
        {{ input.column }}
    {%- else -%}
        coalesce({{ input.column }}, {{ input.fill_nulls_with }})
    {%- endif -%}
{%- endmacro %}


{#
    marts.metrics_daily: for every published metric of the registry, its rows
    in its semantic model's table for the company ('all') and the metric's
    dimensions, on the reporting dates only.
      * simple: value = the measure; a row where the measure has a value.
      * ratio: value = numerator / denominator (NULL when the denominator is
        0), numerator and denominator beside it; a row wherever both inputs
        have a value (after fill_nulls_with: with it, every row of the table).
    `inputs` are the ref()s of the tables the semantic models read (dbt
    needs them in the model to order the build); a metric whose table is not
    among them is a compiler error.
#}
{% macro metrics_daily(inputs, reporting_dates) %}
    {%- if not execute -%}{{ return('select 1 as date') }}{%- endif -%}
    {%- set relations = {} -%}
    {%- for input in inputs -%}
        {%- do relations.update({input.identifier: input}) -%}
    {%- endfor -%}
    {%- set published = [] -%}
    {%- for metric in metric_registry().values() if metric.published -%}
        {%- set table = metric.table -%}
        {%- if table not in relations -%}
            {{ exceptions.raise_compiler_error("metrics_daily: metric " ~ metric.name ~ " reads " ~ table ~ ", which is not among the inputs of metrics_daily.sql: add its ref()") }}
        {%- endif -%}
        {%- do metric.update({'relation': relations[table]}) -%}
        {%- do published.append(metric) -%}
    {%- endfor -%}

with

reporting_dates as (

    select date from {{ reporting_dates }}

),

all_metrics as (
    {%- for metric in published %}
    {%- set dimensions = ['all'] + metric.dimensions %}

    select
        date,
        '{{ metric.name }}' as metric,
        dimension,
        dimension_value,
        {%- if metric.kind == 'ratio' %}
        {%- set numerator = _metric_input(metric.numerator) %}
        {%- set denominator = _metric_input(metric.denominator) %}
        {{ safe_divide(numerator, denominator) }} as value,
        cast({{ numerator }} as {{ type_double() }}) as numerator,
        cast({{ denominator }} as {{ type_double() }}) as denominator
        {%- else %}
        cast({{ metric.column }} as {{ type_double() }}) as value,
        cast(null as {{ type_double() }}) as numerator,
        cast(null as {{ type_double() }}) as denominator
        {%- endif %}

    from {{ metric.relation }}
    where dimension in ({{ sql_string_list(dimensions) }})
        {%- if metric.kind == 'ratio' %}
        and {{ numerator }} is not null
        and {{ denominator }} is not null
        {%- else %}
        and {{ metric.column }} is not null
        {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        all_metrics.date,
        cast(all_metrics.metric as {{ dbt.type_string() }}) as metric,
        cast(all_metrics.dimension as {{ dbt.type_string() }}) as dimension,
        cast(all_metrics.dimension_value as {{ dbt.type_string() }}) as dimension_value,
        all_metrics.value,
        all_metrics.numerator,
        all_metrics.denominator

    from all_metrics
    inner join reporting_dates
        on all_metrics.date = reporting_dates.date

)

select * from final
{% endmacro %}
