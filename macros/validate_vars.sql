{#- Runs at the start of every dbt invocation (on-run-start): a bad parameter stops the run
    before any model is built, with a message naming the var. -#}
{% macro validate_vars() %}
    {%- if execute -%}
    {%- set problems = [] -%}

    {%- set as_of = var('as_of_date') -%}
    {%- if as_of is not none and as_of != '' -%}
        {%- if not retention.is_iso_date(as_of | string) -%}
            {%- do problems.append("as_of_date: '" ~ as_of ~ "' is not a calendar date in YYYY-MM-DD form") -%}
        {%- endif -%}
    {%- endif -%}

    {%- set tz = var('reporting_timezone') | string -%}
    {%- if tz not in modules.pytz.all_timezones_set -%}
        {%- do problems.append("reporting_timezone: '" ~ tz ~ "' is not a known IANA time zone (e.g. UTC, Europe/Amsterdam)") -%}
    {%- else -%}
        {%- set engine_problem = retention.timezone_unknown_to_engine(tz) -%}
        {%- if engine_problem -%}
            {%- do problems.append("reporting_timezone: '" ~ tz ~ "' " ~ engine_problem) -%}
        {%- endif -%}
    {%- endif -%}

    {%- if not modules.re.match('^[A-Z]{3}$', var('reporting_currency') | string) -%}
        {%- do problems.append("reporting_currency: '" ~ var('reporting_currency') ~ "' is not an ISO 4217 code such as EUR") -%}
    {%- endif -%}

    {%- if not retention.is_whole_number(var('order_inactivity_days')) or var('order_inactivity_days') | int < 1 -%}
        {%- do problems.append("order_inactivity_days: '" ~ var('order_inactivity_days') ~ "' must be a whole number of days, at least 1") -%}
    {%- endif -%}

    {%- if not retention.is_whole_number(var('contract_grace_days')) or var('contract_grace_days') | int < 0 -%}
        {%- do problems.append("contract_grace_days: '" ~ var('contract_grace_days') ~ "' must be a whole number of days, at least 0") -%}
    {%- endif -%}

    {%- if not retention.is_whole_number(var('incremental_lookback_days')) or var('incremental_lookback_days') | int < 0 -%}
        {%- do problems.append("incremental_lookback_days: '" ~ var('incremental_lookback_days') ~ "' must be a whole number of days, at least 0") -%}
    {%- endif -%}

    {%- set margin = var('gross_margin') -%}
    {%- if not retention.is_number(margin) or margin | float <= 0 or margin | float > 1 -%}
        {%- do problems.append("gross_margin: '" ~ margin ~ "' must be a fraction in (0, 1]") -%}
    {%- endif -%}

    {%- set lifespan = var('clv_max_lifespan_years') -%}
    {%- if not retention.is_number(lifespan) or lifespan | float <= 0 -%}
        {%- do problems.append("clv_max_lifespan_years: '" ~ lifespan ~ "' must be a positive number of years") -%}
    {%- endif -%}

    {%- set windows = var('repeat_windows_days') -%}
    {%- if windows is string or windows is not iterable or windows | length == 0 -%}
        {%- do problems.append("repeat_windows_days: '" ~ windows ~ "' must be a non-empty list of whole numbers of days") -%}
    {%- else -%}
        {%- for window in windows -%}
            {%- if not retention.is_whole_number(window) or window | int < 1 -%}
                {%- do problems.append("repeat_windows_days: '" ~ window ~ "' is not a whole number of days, at least 1") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if not retention.is_whole_number(var('programme_horizon_days')) or var('programme_horizon_days') | int < 1 -%}
        {%- do problems.append("programme_horizon_days: '" ~ var('programme_horizon_days') ~ "' must be a whole number of days, at least 1") -%}
    {%- endif -%}

    {%- set earliest = var('earliest_plausible_date') -%}
    {%- if earliest is none or not retention.is_iso_date(earliest | string) -%}
        {%- do problems.append("earliest_plausible_date: '" ~ earliest ~ "' is not a calendar date in YYYY-MM-DD form") -%}
    {%- endif -%}

    {%- if not retention.is_whole_number(var('plausible_years_after_load')) or var('plausible_years_after_load') | int < 0 -%}
        {%- do problems.append("plausible_years_after_load: '" ~ var('plausible_years_after_load') ~ "' must be a whole number of years, at least 0") -%}
    {%- endif -%}

    {%- if problems -%}
        {{ exceptions.raise_compiler_error("Invalid dbt vars, nothing was built:\n  - " ~ problems | join("\n  - ")) }}
    {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- Why the engine cannot convert to a time zone that pytz knows, or none when it can.
    The engine's time-zone data may be older than pytz's: without this check such a zone
    fails the build at the first model that converts a timestamp. -#}
{% macro timezone_unknown_to_engine(tz) -%}
    {{ return(adapter.dispatch('timezone_unknown_to_engine', 'retention')(tz)) }}
{%- endmacro %}

{% macro default__timezone_unknown_to_engine(tz) -%}
    {#- DuckDB's ICU data converts every zone of the pinned pytz (python_checks/test_bad_vars.py
        asks it each one): nothing to ask. -#}
    {{ return(none) }}
{%- endmacro %}

{#- A var given as a YAML number may be a boolean (true is 1), nan, inf or -inf (`.nan`,
    `.inf`, `-.inf`): none of them is a number of days, a margin or a lifespan, and nan
    passes every comparison unnoticed, so they are refused before any range check.
    x * 0 is 0 for every finite x and nan for nan and ±inf. -#}
{% macro is_finite_number(value) -%}
    {{ return(value is number and value is not boolean and value * 0 == 0) }}
{%- endmacro %}

{% macro is_whole_number(value) -%}
    {#- The var value is a whole number (or its text). -#}
    {{ return(retention.is_finite_number(value) and (value | int) == value or (value is string and modules.re.match('^-?[0-9]+$', value) is not none)) }}
{%- endmacro %}

{% macro is_number(value) -%}
    {#- The var value is a finite number (or its text). -#}
    {{ return(retention.is_finite_number(value) or (value is string and modules.re.match('^-?[0-9]+(\\.[0-9]+)?$', value) is not none)) }}
{%- endmacro %}

{% macro is_iso_date(text) -%}
    {#- The text is a valid calendar date YYYY-MM-DD. -#}
    {%- set match = modules.re.match('^([0-9]{4})-([0-9]{2})-([0-9]{2})$', text) -%}
    {%- if not match -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set year = match.group(1) | int -%}
    {%- set month = match.group(2) | int -%}
    {%- set day = match.group(3) | int -%}
    {%- if month < 1 or month > 12 or day < 1 or year < 1 -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set first_of_next = modules.datetime.date(year + 1, 1, 1) if month == 12 else modules.datetime.date(year, month + 1, 1) -%}
    {%- set days_in_month = (first_of_next - modules.datetime.timedelta(days=1)).day -%}
    {{ return(day <= days_in_month) }}
{%- endmacro %}
