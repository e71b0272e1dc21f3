{#
    The person an event, device day or order belongs to (the identity rule of
    docs/metrics.md): its own signed-in user_id; else the user its device
    carried first (int_device_users.user_id, so anonymous activity before
    sign-up belongs to the user who later signs up on that device); else the
    device itself, as 'd:' || device_id. Every model that counts persons
    resolves them with this macro, so they all count the same persons.

    Arguments are SQL expressions (usually qualified columns):
      user_id         the row's own user_id (NULL while anonymous)
      device_user_id  the device's user, from a left join to int_device_users
      device_id       the row's device_id

    {{ person_id('events.user_id', 'device_users.user_id', 'events.device_id') }}
    -> coalesce(events.user_id, device_users.user_id, 'd:' || events.device_id)
#}
{% macro person_id(user_id, device_user_id, device_id) -%}
    coalesce({{ user_id }}, {{ device_user_id }}, {{ dbt.concat(["'d:'", device_id]) }})
{%- endmacro %}
