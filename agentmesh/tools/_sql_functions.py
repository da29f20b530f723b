"""Which SQL functions the sql tool lets a query call, per dialect.

Every dialect gets an **allowlist**: the catalogues hold thousands of functions, and each
release and extension adds some with side effects that a read-only transaction does not stop
(``pg_create_physical_replication_slot``, advisory locks, ``pg_stat_reset``, ``GET_LOCK``,
user-defined functions) or that read files and URLs (DuckDB's ``read_csv``, ``query_table``,
``query``, ``sniff_csv``, ``parquet_schema``...). A denylist of those always misses one (the
third round of attacks read host files through ``query`` and ``query_table``, which the old
DuckDB denylist did not name); an allowlist of what analytical SQL needs misses only a harmless
function, and the error says how to add it (``sql_functions``).

A function in a table's place (``FROM f(...)``) must also be on the dialect's short list of
**table functions** (``TABLE_FUNCTIONS``): generating and unnesting rows, never reading.
``sql_functions`` widens the scalar list only.

The SQLite and DuckDB lists were measured on the 190 defog gold queries (tests/test_defog_gold.py):
none is refused.

Names are lower case. sqlglot parses many functions into typed expressions and names them
its own way (``strftime`` and ``to_char`` are both ``time_to_str``); both spellings are here.
"""

from __future__ import annotations

# Functions sqlglot knows as typed expressions, under its canonical names (or the name it
# keeps): aggregates, window functions, arithmetic, text, dates, conditionals, JSON reads.
_CANONICAL = frozenset("""
and or xor not case if iif cast try_cast convert coalesce nullif ifnull nvl nvl2 greatest least exists
count count_if countif sum avg min max median mode stddev stddev_pop stddev_samp variance variance_pop var_pop
var_samp variance_samp corr covar_pop covar_samp percentile_cont percentile_disc approx_distinct
approx_count_distinct approx_quantile regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx
regr_sxy regr_syy array_agg group_concat string_agg bool_and bool_or logical_and logical_or any_value
bitwise_and_agg bitwise_or_agg bitwise_xor_agg arg_max arg_min argmax argmin max_by min_by
first_value last_value nth_value lag lead row_number rank dense_rank percent_rank cume_dist ntile first last
abs ceil ceiling floor round trunc truncate sign signum sqrt cbrt exp ln log log2 log10 pow power pi radians degrees
sin cos tan cot asin acos atan atan2 sinh cosh tanh asinh acosh atanh width_bucket factorial rand random isnan isinf
lower upper lcase ucase length len char_length character_length bit_length byte_length concat concat_ws
substring substr left right trim ltrim rtrim replace reverse repeat initcap pad split_part str_position translate
overlay ascii chr char md5 sha sha1 sha2 to_base64 from_base64 hex unhex regexp_like regexp_replace regexp_extract
regexp_substr regexp_count regexp_instr regexp_split regexp_i_like levenshtein soundex format starts_with
startswith ends_with endswith space string_to_array array_to_string split
date datetime time timestamp current_date current_time current_timestamp current_datetime localtime
localtimestamp extract date_trunc datetime_trunc timestamp_trunc time_trunc date_add date_sub datetime_add
datetime_sub datediff date_diff datetime_diff timestampdiff timestamp_diff timestamp_add timestamp_sub
time_to_str str_to_time str_to_date ts_or_ds_to_date ts_or_ds_to_timestamp ts_or_ds_to_datetime ts_or_ds_add
ts_or_ds_diff ts_or_ds_to_date_str time_str_to_time time_str_to_date time_str_to_unix date_str_to_date
date_to_date_str unix_to_time unix_to_str unix_to_time_str time_to_unix str_to_unix time_to_time_str day month
year quarter week weekofyear week_of_year dayofweek day_of_week dayofweek_iso dayofmonth day_of_month dayofyear
day_of_year hour minute second monthname dayname last_day last_day_of_month make_interval date_from_parts
datefromparts to_char to_number to_days justify_days justify_hours justify_interval add_months months_between
generate_series unnest array array_length array_size array_contains array_position array_concat array_cat
array_append array_prepend array_remove array_slice array_distinct array_to_string
json_extract json_extract_scalar jsonb_extract jsonb_extract_scalar jsonb_contains jsonb_exists json_keys
json_type json_format json_array_contains parse_json
current_user session_user current_schema current_database current_catalog current_role
""".split())

_POSTGRES = frozenset("""
date_part age make_date make_time make_timestamp make_timestamptz to_timestamp to_date now clock_timestamp
statement_timestamp transaction_timestamp isfinite date_bin
strpos position lpad rpad btrim quote_ident quote_literal quote_nullable regexp_matches regexp_match
regexp_split_to_array regexp_split_to_table string_agg starts_with left right octet_length char_length
mod div gcd lcm scale trim_scale min_scale log10 ceil floor round trunc random setseed
cardinality array_lower array_upper array_ndims array_dims array_fill array_replace array_positions
json_array_length jsonb_array_length json_object_keys jsonb_object_keys json_typeof jsonb_typeof
json_build_object jsonb_build_object json_build_array jsonb_build_array json_agg jsonb_agg json_object_agg
jsonb_object_agg to_json to_jsonb row_to_json array_to_json json_extract_path json_extract_path_text
jsonb_extract_path jsonb_extract_path_text json_array_elements jsonb_array_elements json_array_elements_text
jsonb_array_elements_text json_each jsonb_each json_each_text jsonb_each_text jsonb_path_query
jsonb_path_exists jsonb_strip_nulls jsonb_pretty
every bit_and bit_or bit_xor num_nulls num_nonnulls
""".split())

_MYSQL = frozenset("""
date_format str_to_date from_unixtime unix_timestamp curdate curtime now sysdate utc_date utc_time
utc_timestamp makedate maketime period_add period_diff yearweek weekday to_seconds from_days sec_to_time
time_to_sec timediff addtime subtime adddate subdate convert_tz extract microsecond
instr locate lpad rpad field find_in_set elt mid position octet_length ord quote strcmp substring_index
insert lower upper format
mod div truncate crc32 conv bin oct
isnull ifnull
std stddev bit_and bit_or bit_xor group_concat json_arrayagg json_objectagg
json_extract json_unquote json_length json_contains json_contains_path json_value json_object json_array
json_keys json_search json_depth json_valid json_type json_quote json_overlaps json_table
""".split())

_SQLITE = frozenset("""
abs changes char coalesce concat concat_ws format glob hex ifnull iif instr length like likelihood likely lower
ltrim max min nullif octet_length printf quote random replace round rtrim sign soundex substr substring trim
typeof unhex unicode unlikely upper date time datetime julianday unixepoch strftime timediff avg count
group_concat sum total string_agg acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor
ln log log2 log10 mod pi pow power radians sin sinh sqrt tan tanh trunc
json json_array json_array_length json_extract json_insert json_object json_patch json_remove json_replace json_set
json_type json_valid json_quote json_group_array json_group_object jsonb j_s_o_n_array_agg j_s_o_n_object
j_s_o_n_object_agg highlight snippet bm25
""".split())

_DUCKDB = frozenset("""
abs ceil floor round even gcd lcm isnan isinf isfinite is_nan is_inf log ln log10 log2 pow power sqrt cbrt exp
sign trunc pi radians degrees sin cos tan asin acos atan atan2 cot factorial bit_count xor
length len lower upper lcase ucase trim ltrim rtrim replace concat concat_ws format printf repeat reverse
split_part substring substr left right lpad rpad position strpos instr contains prefix suffix starts_with
ends_with strip_accents string_split str_split string_split_regex regexp_matches regexp_replace regexp_extract
regexp_extract_all regexp_split_to_array like_escape ilike_escape md5 sha256 hash ascii chr unicode levenshtein
jaccard jaro_similarity jaro_winkler_similarity jarowinkler_similarity damerau_levenshtein hamming editdist3
mismatches nfc_normalize to_base64 from_base64 base64 bar array_to_string
date_part datepart date_trunc datetrunc date_diff datediff date_sub date_add date_bin strftime strptime
try_strptime make_date make_time make_timestamp timestamp_from_parts epoch epoch_ms epoch_us to_timestamp age
dayname monthname last_day year month day hour minute second millisecond microsecond week weekday dayofweek
dayofmonth dayofyear isodow isoyear quarter era decade century yearweek today now current_date current_time
current_timestamp get_current_timestamp get_current_time time_bucket to_days to_hours to_minutes to_seconds
to_months to_years to_weeks
arg_max arg_min argmax argmin max_by min_by list histogram mode median quantile quantile_cont quantile_disc
approx_count_distinct approx_quantile reservoir_quantile string_agg bit_and bit_or bit_xor bool_and bool_or
count count_star entropy kurtosis skewness fsum sumkahan kahan_sum product favg first last any_value listagg
list_value list_extract list_element list_sort list_reverse_sort list_contains list_has list_aggregate list_aggr
list_distinct list_unique list_filter list_transform list_reduce list_slice list_concat list_cat list_position
list_indexof list_sum list_min list_max list_avg list_count list_zip flatten array_extract array_filter array_has
array_sort array_transform array_max array_min filter transform
struct struct_pack struct_extract row map map_extract map_keys map_values cardinality element_at typeof
json_extract_string json_extract_path json_extract_path_text json_array_length json_valid json_contains
json_value json_transform json_structure to_json json_object json_array json_group_array json_group_object
json_merge_patch j_s_o_n_array j_s_o_n_object
""".split())

TABLE_FUNCTIONS: dict[str, frozenset[str]] = {
    "sqlite": frozenset({"json_each", "json_tree", "generate_series", "pragma_table_info", "pragma_table_xinfo",
                         "pragma_index_list", "pragma_index_info", "pragma_foreign_key_list"}),
    "duckdb": frozenset({"generate_series", "range", "unnest", "explode", "json_each", "json_tree"}),
    "postgres": frozenset({"generate_series", "exploding_generate_series", "unnest", "explode", "generate_subscripts",
                           "json_each", "jsonb_each", "json_each_text", "jsonb_each_text", "json_array_elements",
                           "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text",
                           "json_object_keys", "jsonb_object_keys", "regexp_split_to_table", "regexp_matches",
                           "jsonb_path_query"}),
    "mysql": frozenset({"json_table", "j_s_o_n_table"}),
}
"""Per dialect: the only functions allowed in a table's place (``FROM f(...)``): they make rows
from their arguments and read nothing else."""

COMMON_FUNCTIONS = _CANONICAL
"""What a backend agentmesh has no list for may call: the analytical functions sqlglot knows."""

ALLOWED_FUNCTIONS: dict[str, frozenset[str]] = {
    "postgres": _CANONICAL | _POSTGRES | TABLE_FUNCTIONS["postgres"],
    "mysql": _CANONICAL | _MYSQL | TABLE_FUNCTIONS["mysql"],
    "sqlite": _CANONICAL | _SQLITE | TABLE_FUNCTIONS["sqlite"],
    "duckdb": _CANONICAL | _DUCKDB | TABLE_FUNCTIONS["duckdb"],
}
"""Per dialect: the only functions a query may call. A dialect missing here (a backend agentmesh
does not know) is refused every function but the common analytical ones (``_CANONICAL``)."""

DANGEROUS_FUNCTIONS = frozenset({
    # SQLite: native code, files
    "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
    # PostgreSQL: files, large objects, other servers, sessions, server control
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir", "pg_ls_waldir",
    "lo_import", "lo_export", "lo_get", "lo_put", "lo_from_bytea", "lo_unlink",
    "dblink", "dblink_exec", "dblink_connect", "dblink_send_query",
    "load_file", "benchmark", "sys_exec", "sys_eval",  # MySQL/MariaDB: read server files, burn CPU, UDF shells
    # DuckDB: files, URLs and other queries as tables (also outside the allowlist: sql_functions cannot add them)
    "read_csv", "read_csv_auto", "read_text", "read_blob", "read_parquet", "parquet_scan", "read_json",
    "read_json_auto", "read_ndjson", "glob", "sniff_csv", "read_xlsx", "iceberg_scan", "delta_scan",
    "query", "query_table", "parquet_schema", "parquet_metadata", "parquet_file_metadata", "parquet_kv_metadata",
    "json_execute_serialized_sql", "getenv", "current_setting", "read_csv_sniff",
    "set_config", "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_promote", "pg_switch_wal", "query_to_xml", "query_to_xml_and_xmlschema", "cursor_to_xml",
    "pg_advisory_lock", "pg_advisory_xact_lock", "txid_current", "nextval", "setval",
})
"""Refused in every dialect, also inside the allowlists (a user's addition cannot re-open them)."""
