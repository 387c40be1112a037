{#- A customer's spells on a basis are disjoint, in date order and numbered 1, 2, … in
    that order: each spell starts after the previous one ended. Every later model (the
    periods' lifecycle, MRR segments, churn dates) reads a day's activity from the one
    spell holding it; the grain test (customer, basis, spell_number) alone would pass two
    copies of a spell under two numbers. Returns the offending spells. -#}
with spells as (

    select * from {{ ref('int_activity_spells') }}

),

ordered as (

    select
        customer_id,
        basis,
        spell_number,
        spell_start_date,
        lag(spell_end_date) over (
            partition by customer_id, basis
            order by spell_number
        ) as previous_spell_end_date,
        row_number() over (
            partition by customer_id, basis
            order by spell_number
        ) as spell_position
    from spells

),

final as (

    select *
    from ordered
    where
        spell_number <> spell_position
        or spell_start_date <= previous_spell_end_date

)

select * from final
