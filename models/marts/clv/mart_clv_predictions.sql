{#- One row per customer with a purchase up to A: the BG/NBD / Gamma-Gamma predictions
    (int_predictive_customers, a dbt Python model) and the predicted CLV over 365 days. The
    margin (var gross_margin) comes from int_reporting_params, like mart_clv's. -#}
with customers as (

    select * from {{ ref('int_predictive_customers') }}

),

params as (

    select gross_margin from {{ ref('int_reporting_params') }}

),

typed as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(frequency as {{ dbt.type_bigint() }}) as frequency,
        cast(recency_weeks as {{ type_double() }}) as recency_weeks,
        cast(age_weeks as {{ type_double() }}) as age_weeks,
        cast(average_repeat_value as {{ type_double() }}) as average_repeat_value,
        cast(p_alive as {{ type_double() }}) as p_alive,
        cast(expected_purchases_365d as {{ type_double() }}) as expected_purchases_365d,
        cast(expected_average_order_value as {{ type_double() }})
            as expected_average_order_value,
        cast(fit_status as {{ dbt.type_string() }}) as fit_status
    from customers

),

valued as (

    select
        typed.*,
        typed.expected_purchases_365d * typed.expected_average_order_value * params.gross_margin
            as predicted_clv_365d
    from typed
    cross join params

),

final as (

    select
        customer_id,
        frequency,
        recency_weeks,
        age_weeks,
        average_repeat_value,
        p_alive,
        expected_purchases_365d,
        expected_average_order_value,
        predicted_clv_365d,
        fit_status
    from valued

)

select * from final
