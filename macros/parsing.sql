{#- Parsing raw text into typed values. Raw columns are text exactly as delivered; every
    parse is a try-cast so that a bad value becomes null (and its row is quarantined by the
    base model's checks) instead of failing the build.

    A value is parsed only when its (trimmed) text has one of the forms below: the engine's
    casts accept much more (DuckDB reads `epoch` and `infinity` as dates, `24-12-31` as the
    year 24, `1e2` and `1_000` as numbers, and rounds `1.005` to 1.01), and any of that
    staged silently would be a wrong number rather than a quarantined row. -#}

{% macro text_patterns() -%}
    {#- Regular expressions a whole value must match (RE2 / POSIX syntax, no backslashes).
        date: ISO 8601 YYYY-MM-DD, or that day at midnight without an offset (what a
        timestamp-typed Parquet column holding dates becomes as text).
        timestamp: ISO 8601 YYYY-MM-DD, optionally with a time hh:mm[:ss[.fraction]] after a
        T or a space (hours 00-23, minutes and seconds 00-59: no 24:00, no leap second), and
        an offset Z, ±hh, ±hhmm or ±hh:mm with hours 00-14 and minutes 00-59 (none: UTC).
        A cast would read +99:00 as 99 hours and 24:00 as the next midnight, a shifted
        instant rather than a quarantined row.
        money: plain decimal notation, an optional minus, digits, optionally a point and
        digits (two at most, checked by money_checks so that more has its own reason).
        integer: an optional minus and digits, optionally a point and zeros only (9.0,
        9.00: what a float or decimal column holds a whole number as; the cast would round
        6.5 to 7 and read 1e1, 0x9, 1_0 and +9).
        boolean (of lower-cased text): true/false, t/f, yes/no, y/n, or 1/0 optionally with
        a point and zeros only; Spark's cast would also read them after a tab, a line break
        or another control character, which no engine trims here. -#}
    {{ return({
        'date': '[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]00:00(:00([.]0+)?)?)?',
        'timestamp': '[0-9]{4}-[0-9]{2}-[0-9]{2}'
            ~ '([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?'
            ~ '(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?)?',
        'money': '-?[0-9]+([.][0-9]+)?',
        'integer': '-?[0-9]+([.]0+)?',
        'boolean': 'true|false|t|f|yes|no|y|n|[01]([.]0+)?',
        'money_over_two_decimals': '-?[0-9]+[.][0-9]{3,}',
    }) }}
{%- endmacro %}

{% macro matches_pattern(expression, pattern) -%}
    {#- The whole text matches the regular expression (null for null text). -#}
    {{ return(adapter.dispatch('matches_pattern', 'retention')(expression, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(expression, pattern) -%}
    {#- The whole text matches the pattern (null for null text). -#}
    regexp_like({{ expression }}, '^({{ pattern }})$')
{%- endmacro %}

{% macro duckdb__matches_pattern(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro text_if_form(column, form) -%}
    {#- The trimmed text of a raw column when it has the form (text_patterns), else null. -#}
    case when {{ matches_pattern(clean_text(column), text_patterns()[form]) }} then {{ clean_text(column) }} end
{%- endmacro %}

{% macro clean_text(column) -%}
    {#- The trimmed text of a raw value; null when empty. -#}
    {{ return(adapter.dispatch('clean_text', 'retention')(column)) }}
{%- endmacro %}

{% macro default__clean_text(column) -%}
    nullif(trim(cast({{ column }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{% macro duckdb__clean_text(column) -%}
    {#- The same value, cheaper: trim() reads every character of every value, and most raw
        values start and end with a printable ASCII character other than a space, which
        trim never removes (it removes spaces, including Unicode ones such as U+00A0 and
        U+3000). Such a value is its own trim; testing its two ends costs half of trimming
        (10M raw order timestamps at 1M customers). -#}
    {%- set text = 'cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')' %}
    nullif(
        case
            when ascii({{ text }}) between 33 and 126 and ascii({{ text }}[-1]) between 33 and 126
                then {{ text }}
            else trim({{ text }})
        end,
        ''
    )
{%- endmacro %}

{% macro parse_timestamp(column) -%}
    {#- A raw ISO 8601 text as a UTC timestamp; null when it is not in that form. -#}
    {{ return(adapter.dispatch('parse_timestamp', 'retention')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp(column) -%}
    {#- ISO 8601 with or without an offset; without one it is UTC. The result is a timestamp
        in UTC (engines whose session time zone is UTC, as Spark's must be here). -#}
    {{ try_cast(text_if_form(column, 'timestamp'), dbt.type_timestamp()) }}
{%- endmacro %}

{% macro duckdb__parse_timestamp(column) -%}
    {#- ISO 8601 with or without an offset; without one it is UTC (the session time zone is
        UTC, see profiles.yml). The result is a naive timestamp in UTC: the instant's
        microseconds since the epoch taken as a naive timestamp (what timezone('UTC', …)
        gives, at a third of its cost: no time zone library call per row). -#}
    make_timestamp(epoch_us(try_cast({{ text_if_form(column, 'timestamp') }} as timestamptz)))
{%- endmacro %}

{% macro parse_date(column) -%}
    {#- A raw ISO 8601 date (YYYY-MM-DD) as a date; null when it is not in that form. -#}
    {{ try_cast(text_if_form(column, 'date'), 'date') }}
{%- endmacro %}

{% macro parse_money(column) -%}
    {#- Plain decimal notation only; a value with more than two decimals parses (rounded) but
        is quarantined by money_checks. -#}
    {{ try_cast(text_if_form(column, 'money'), money_type()) }}
{%- endmacro %}

{#- The checks of a money column: value_checks (missing_<column>, invalid_<column> for text
    that is not plain decimal notation) and <column>_too_many_decimals for a plain decimal
    with more than two decimals (1.005 would be rounded to 1.01; 1.000 counts too: the
    contract is at most two decimals). Returns [condition, reason] pairs. -#}
{% macro money_checks(column, required=true) -%}
    {%- set has_more_decimals = matches_pattern(
        'raw_' ~ column, text_patterns()['money_over_two_decimals']
    ) -%}
    {{ return(value_checks(column, required=required) + [
        ['(' ~ has_more_decimals ~ ')', column ~ '_too_many_decimals'],
    ]) }}
{%- endmacro %}

{#- The checks of a date or timestamp column (kind 'date' or 'timestamp'): value_checks
    (missing_<column>, invalid_<column> for text that is not ISO 8601) and the plausible
    range (date_range_check). -#}
{% macro date_checks(column, kind='timestamp', required=true, bounded_above=true) -%}
    {{ return(value_checks(column, required=required) + [
        date_range_check(column, kind, bounded_above),
    ]) }}
{%- endmacro %}

{#- [condition, '<column>_out_of_range'] for a parsed date or timestamp outside the
    plausible range: before the var earliest_plausible_date (00:00 UTC) or, with
    bounded_above, more than plausible_years_after_load years after the row was loaded.

    The upper bound depends on the row alone, never on A: a far-future date is quarantined
    and so cannot move the default A (the latest staged event date), and an incremental run
    judges a row as a full rebuild does. The load time is the row's _loaded_at; a row
    without one, or with one later than the build, takes the build's start instead, so its
    verdict can change with the day of the build: an incremental run re-reads such rows
    until their stamp has passed (is_recent, macros/incremental.sql: a stamp later than the
    load of the latest batch the table has read, or none).

    Dates that schedule the end of something (a contract's end_date, a cancellation's
    effective_date) pass bounded_above=false: a multi-year contract legitimately ends years
    after its delivery, and coverage is cut at A anyway. -#}
{% macro date_range_check(column, kind='timestamp', bounded_above=true) -%}
    {%- set type = 'date' if kind == 'date' else dbt.type_timestamp() -%}
    {%- set earliest = "cast('" ~ var('earliest_plausible_date') ~ "' as " ~ type ~ ")" -%}
    {%- set condition = column ~ ' < ' ~ earliest -%}
    {%- if bounded_above -%}
        {%- set build_started = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as "
            ~ dbt.type_timestamp() ~ ")" -%}
        {%- set load_time = 'case when _loaded_at is null or _loaded_at > ' ~ build_started
            ~ ' then ' ~ build_started ~ ' else _loaded_at end' -%}
        {%- set latest = 'cast(' ~ dbt.dateadd('year', var('plausible_years_after_load') | int, load_time)
            ~ ' as ' ~ type ~ ')' -%}
        {%- set condition = condition ~ ' or ' ~ column ~ ' > ' ~ latest -%}
    {%- endif -%}
    {{ return(['(' ~ condition ~ ')', column ~ '_out_of_range']) }}
{%- endmacro %}

{% macro parse_integer(column) -%}
    {#- A raw whole number (an optional minus and digits, optionally a point and zeros only,
        as a float or decimal column writes one: 9.0, 9.0000000000); null when it is not in
        that form or does not fit. The zeros are dropped before the cast, so that every
        engine's cast reads digits only. -#}
    {{ try_cast(zero_fraction_dropped(text_if_form(column, 'integer')), dbt.type_int()) }}
{%- endmacro %}

{% macro zero_fraction_dropped(expression) -%}
    {#- A number's text without a point and zeros at its end (9.00 -> 9): what a float or
        decimal column writes after a whole number, which no engine's integer cast is sure
        to read. -#}
    regexp_replace({{ expression }}, '[.]0+$', '')
{%- endmacro %}

{% macro parse_boolean(column) -%}
    {#- A raw boolean in any case: true/false, t/f, yes/no, y/n or 1/0 (the forms the cast
        reads, each unambiguous), 1/0 also with a point and zeros only (1.0, 0.00: a float or
        decimal column's text of them); null otherwise (the form text_patterns boolean,
        checked first: Spark's cast reads "true" after a tab or a line break). -#}
    {%- set text = 'lower(' ~ clean_text(column) ~ ')' -%}
    {%- set is_boolean = matches_pattern(text, text_patterns()['boolean']) -%}
    {{ try_cast('case when ' ~ is_boolean ~ ' then ' ~ zero_fraction_dropped(text) ~ ' end', dbt.type_boolean()) }}
{%- endmacro %}

{% macro money_type() -%}
    {#- The type of money amounts: exact, two decimals. -#}
    decimal(18, 2)
{%- endmacro %}

{% macro to_money(expression) -%}
    {#- A number (a sum of money, say) as money (money_type); a value that does not fit, past
        9999999999999999.99, fails the query on every engine instead of becoming null. -#}
    {{ return(adapter.dispatch('to_money', 'retention')(expression)) }}
{%- endmacro %}

{% macro default__to_money(expression) -%}
    {#- A cast: DuckDB's fails on a value that does not fit (so does any engine in ANSI mode). -#}
    cast({{ expression }} as {{ money_type() }})
{%- endmacro %}

{% macro to_local_date(utc_timestamp) -%}
    {#- The calendar date of a UTC timestamp in the reporting time zone. -#}
    {{ return(adapter.dispatch('to_local_date', 'retention')(utc_timestamp)) }}
{%- endmacro %}

{% macro default__to_local_date(utc_timestamp) -%}
    {#- The calendar date of a UTC timestamp in the reporting time zone (Spark). -#}
    cast(from_utc_timestamp({{ utc_timestamp }}, '{{ var("reporting_timezone") }}') as date)
{%- endmacro %}

{% macro duckdb__to_local_date(utc_timestamp) -%}
    {#- In UTC the local date is the timestamp's own date: no time zone conversion per row. -#}
    {%- if var("reporting_timezone") == 'UTC' %}
    cast({{ utc_timestamp }} as date)
    {%- else %}
    cast(timezone('{{ var("reporting_timezone") }}', timezone('UTC', {{ utc_timestamp }})) as date)
    {%- endif %}
{%- endmacro %}

{% macro row_as_text(relation_alias) -%}
    {#- A row record (row_record) as JSON text. -#}
    {{ return(adapter.dispatch('row_as_text', 'retention')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_as_text(relation_alias) -%}
    {#- A row record (row_record) as JSON text. -#}
    cast(to_json({{ relation_alias }}) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro try_cast(expression, type) -%}
    {#- A cast that yields null instead of failing. -#}
    {{ return(adapter.dispatch('try_cast', 'retention')(expression, type)) }}
{%- endmacro %}

{% macro default__try_cast(expression, type) -%}
    {#- A cast that yields null instead of failing (dbt.safe_cast is a plain cast on duckdb). -#}
    try_cast({{ expression }} as {{ type }})
{%- endmacro %}

{% macro row_record(relation_alias) -%}
    {#- The whole row of a relation as one value. -#}
    {{ return(adapter.dispatch('row_record', 'retention')(relation_alias)) }}
{%- endmacro %}

{% macro default__row_record(relation_alias) -%}
    {#- The whole row of a relation as one struct value (Spark), rendered as text by
        row_as_text only where it is needed. -#}
    struct({{ relation_alias }}.*)
{%- endmacro %}

{% macro duckdb__row_record(relation_alias) -%}
    {#- A relation alias is the row as a struct in DuckDB. -#}
    {{ relation_alias }}
{%- endmacro %}
