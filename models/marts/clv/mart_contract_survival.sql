{#- One row per contract-basis cohort and month k = 0 … 24: fct_cohorts' observed retention
    where month k is complete, beside the sBG projection (int_predictive_survival, a dbt
    Python model). -#}
with projections as (

    select * from {{ ref('int_predictive_survival') }}

),

observed as (

    select * from {{ ref('fct_cohorts') }}
    where basis = 'contract' and is_complete

),

final as (

    select
        cast(projections.cohort_month as date) as cohort_month,
        cast(projections.months_since_cohort as {{ dbt.type_int() }}) as months_since_cohort,
        cast(projections.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(observed.active_customers as {{ dbt.type_bigint() }}) as active_customers,
        cast(observed.retention_rate as {{ type_double() }}) as observed_retention,
        cast(projections.projected_retention as {{ type_double() }}) as projected_retention,
        observed.cohort_month is null as is_projected,
        cast(projections.alpha as {{ type_double() }}) as alpha,
        cast(projections.beta as {{ type_double() }}) as beta,
        cast(projections.fit_status as {{ dbt.type_string() }}) as fit_status
    from projections
    left join observed
        on
            projections.cohort_month = observed.cohort_month
            and projections.months_since_cohort = observed.months_since_cohort

)

select * from final
