{#
    Fails for every row whose column is outside [min_value, max_value]
    (dbt_utils.accepted_range, without the package). NULL passes: ratios are
    NULL when their denominator is 0. Either bound may be left out.

    columns:
      - name: retention_rate
        data_tests:
          - accepted_range:
              arguments:
                min_value: 0
                max_value: 1
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

with

final as (

    select *
    from {{ model }}
    where {{ column_name }} is not null
        and (
            1 = 0
            {%- if min_value is not none %}
            or {{ column_name }} < {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            or {{ column_name }} > {{ max_value }}
            {%- endif %}
        )

)

select * from final

{% endtest %}
