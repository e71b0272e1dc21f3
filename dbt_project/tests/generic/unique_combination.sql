{#
    Fails for every combination of the given columns that occurs more than
    once (dbt_utils.unique_combination_of_columns, without the package).

    data_tests:
      - unique_combination:
          arguments:
            combination: [spend_date, channel, campaign_id]
#}
{% test unique_combination(model, combination) %}

with

grouped as (

    select
        {{ combination | join(',\n        ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination | join(', ') }}

),

final as (

    select * from grouped
    where occurrences > 1

)

select * from final

{% endtest %}
