{#- Apache Spark's implementations of the dispatched macros (docs/spark.md, "Engine
    differences and where they are handled"). Each default__ (DuckDB's SQL) lives beside its
    macro in the file named above the implementation; these are the same definitions in
    Spark SQL, gathered in one file while the port is under way. -#}

{#- parsing.sql -#}
{% macro spark__matches_pattern(expression, pattern) -%}
    {#- rlike finds the pattern anywhere: anchored, it must match the whole text. The end
        anchor is \z, the very end: Java's $ also matches before a final line terminator,
        and Spark's casts trim it, so "7\n" would stage as 7 where DuckDB quarantines it. -#}
    ({{ expression }} rlike '^(?:{{ pattern }})\\z')
{%- endmacro %}

{% macro spark__clean_text(column) -%}
    {#- The same trim as DuckDB's: the Unicode space separators (Zs: U+0020, U+00A0, U+1680,
        U+2000-U+200A, U+202F, U+205F, U+3000) at either end; Spark's trim() removes only
        U+0020, so a value padded with a no-break space would be another key, or not blank,
        or quarantined where DuckDB stages it. Tabs and line breaks stay, on both. -#}
    nullif(
        trim(
            both
            '\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000'
            from cast({{ column }} as {{ dbt.type_string() }})
        ),
        ''
    )
{%- endmacro %}

{% macro spark__parse_timestamp(column) -%}
    {#- Spark reads the offset of an ISO 8601 text and, without one, the session time zone
        (UTC, profiles.yml): the instant, shown in UTC. Its cast refuses a time without
        seconds followed by an offset or Z (10:00Z, 10:00+02:00), which the form accepts
        and DuckDB reads: such a time gets :00 seconds first. -#}
    try_cast(
        regexp_replace(
            {{ text_if_form(column, 'timestamp') }},
            '^([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2})([Z+-])',
            '$1:00$2'
        ) as timestamp
    )
{%- endmacro %}

{% macro spark__to_money(expression) -%}
    {#- Spark's cast gives null for a value that does not fit, where DuckDB's fails: dbt-spark
        runs the session with spark.sql.ansi.enabled false (it sets it again before every
        statement, whatever the profile says). A value whose cast is null although the value
        is not fails the query instead, naming the value (raise_error). -#}
    coalesce(
        cast({{ expression }} as {{ money_type() }}),
        case
            when {{ expression }} is not null
                then raise_error(
                    concat(cast({{ expression }} as string), ' does not fit the money type {{ money_type() }}')
                )
        end
    )
{%- endmacro %}

{% macro spark__to_local_date(utc_timestamp) -%}
    to_date(from_utc_timestamp({{ utc_timestamp }}, '{{ var("reporting_timezone") }}'))
{%- endmacro %}

{% macro spark__row_as_text(relation_alias) -%}
    {#- Null fields are written as "x":null, as DuckDB's to_json does (Spark's leaves them
        out by default): staging breaks ties between rows of a key on this text. -#}
    to_json({{ relation_alias }}, map('ignoreNullFields', 'false'))
{%- endmacro %}

{#- validate_vars.sql -#}
{% macro spark__timezone_unknown_to_engine(tz) -%}
    {#- Spark resolves a zone with the JVM's time-zone data (DateTimeUtils.getZoneId, which
        also takes the short ids such as EST): asked through try_reflect, null when the JVM
        does not know the zone. UTC is asked beside it: should a Spark release move that
        method, both are null, and the check stands aside rather than refuse every zone. -#}
    {%- set method = "'org.apache.spark.sql.catalyst.util.DateTimeUtils', 'getZoneId'" -%}
    {%- set answer = run_query(
        "select try_reflect(" ~ method ~ ", 'UTC') as utc, try_reflect(" ~ method ~ ", '"
        ~ tz ~ "') as zone"
    ) -%}
    {%- set row = answer.rows[0] -%}
    {%- if row[0] is not none and row[1] is none -%}
        {{ return("is not in this Spark's Java time-zone data (older than pytz's): choose another zone or update the Java runtime (docs/spark.md)") }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- metrics.sql -#}
{% macro spark__value_at_first(value, order_by) -%}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro spark__value_at_last(value, order_by) -%}
    max_by({{ value }}, {{ order_by }})
{%- endmacro %}

{#- incremental.sql. Spark has no `delete+insert` (dbt-spark: append, merge and
    insert_overwrite), and a Parquet table takes no `delete`: an incremental model is a
    table on Spark, rebuilt in full every run, which gives the same rows (docs/decisions.md,
    "Apache Spark"). -#}
{% macro spark__incremental_config(unique_key, pre_hook) -%}
    {{ config(materialized='table') }}
{%- endmacro %}

{#- metrics.sql -#}
{% macro spark__ordered_list(column, delimiter) -%}
    {#- dbt-spark's listagg drops the order (collect_list); Spark 4 has listagg ... within group. -#}
    listagg({{ column }}, {{ delimiter }}) within group (order by {{ column }})
{%- endmacro %}

{% macro spark__last_value_ignoring_nulls(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}

{#- dbt's seed loader (dispatch setting in dbt_project.yml). dbt-spark's session connection
    pastes bound values between quotes without escaping them, so a value with an apostrophe
    ("a competitor's better price") breaks the insert: the values are written as escaped
    Spark SQL literals instead. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- set value = row[loop.index0] -%}
                    cast({{ 'null' if value is none else "'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'" }} as {{ type }})
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
