{#- Every fitted parameter of the predictive models (int_predictive_parameters, a dbt Python
    model), with its contract. -#}
with parameters as (

    select * from {{ ref('int_predictive_parameters') }}

),

final as (

    select
        cast(model as {{ dbt.type_string() }}) as model,  -- noqa: RF04
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(parameter as {{ dbt.type_string() }}) as parameter,  -- noqa: RF04
        cast(value as {{ type_double() }}) as value,  -- noqa: RF04
        cast(observations as {{ dbt.type_bigint() }}) as observations,
        cast(log_likelihood as {{ type_double() }}) as log_likelihood,
        cast(fit_status as {{ dbt.type_string() }}) as fit_status,
        cast(fit_message as {{ dbt.type_string() }}) as fit_message
    from parameters

)

select * from final
