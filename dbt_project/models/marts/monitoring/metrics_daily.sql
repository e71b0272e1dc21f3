{#
    marts.metrics_daily, the long table monitoring reads, generated from the
    metric registry (_monitoring__metrics.yml) by the macro metrics_daily():
    one row per business date x metric x dimension x dimension_value, on the
    reporting dates of kpi_daily. The refs are the tables the registry's
    semantic models read.
#}

{{ metrics_daily(
    inputs=[
        ref('int_trade_slices_measured'),
        ref('int_registration_slices_measured'),
        ref('int_funnel_slices_measured'),
        ref('int_acquisition_slices_measured'),
        ref('int_event_slices_measured'),
        ref('int_payment_slices_measured'),
    ],
    reporting_dates=ref('kpi_daily'),
) }}
