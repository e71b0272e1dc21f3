{#
    One row per key: the rows of `relation` whose rank, numbered by
    row_number() over (partition by `partition_by` order by `order_by`), is 1,
    i.e. the row that sorts first on order_by within its key. With order_by
    newest first it keeps the latest version of each key, the rule of the
    versioned sources (a later delivery restates an earlier one):
    landing_date desc, landing_file desc, landing_row_number desc.

    Arguments:
      relation      a CTE or relation name (anything that follows `from`)
      partition_by  the key: a list of column names, or a SQL column list
      order_by      a list of SQL sort terms, or a SQL sort list; make it a
                    total order within a key (end on a unique tie-break), so
                    the row kept does not depend on the engine or the plan
      rank_column   the name of the rank column (default version_rank)

    The result has the relation's columns plus rank_column (always 1): select
    the columns you keep from it. A plain subquery on every engine (DuckDB's
    qualify is not PostgreSQL SQL); adapter.dispatch lets an adapter override it.

    {{ deduplicate('renamed', ['user_id'], ['landing_date desc', 'landing_file desc']) }}
    -> select * from (
           select *, row_number() over (partition by user_id
               order by landing_date desc, landing_file desc) as version_rank
           from renamed
       ) as ranked
       where version_rank = 1
#}
{% macro deduplicate(relation, partition_by, order_by, rank_column='version_rank') -%}
    {{ return(adapter.dispatch('deduplicate', 'ops_pipeline')(relation, partition_by, order_by, rank_column)) }}
{%- endmacro %}

{% macro default__deduplicate(relation, partition_by, order_by, rank_column) -%}
    {%- set partition_sql = partition_by if partition_by is string else partition_by | join(', ') -%}
    {%- set order_sql = order_by if order_by is string else order_by | join(', ') -%}
    select *
    from (

        select
            *,
            row_number() over (
                partition by {{ partition_sql }}
                order by {{ order_sql }}
            ) as {{ rank_column }}

        from {{ relation }}

    ) as ranked
    where {{ rank_column }} = 1
{%- endmacro %}
