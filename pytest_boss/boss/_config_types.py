"""The type and unit of every built-in setting, so values can be typed without a server.

Private data of ``config``: what ``pg_settings`` says (``vartype``, ``unit``, ``enumvals``)
on PostgreSQL 15 and 18 builds, merged (the newest wins; ``OLDER`` holds what changed).
Enum values are those of a complete build (a build without lz4 lists fewer). The tests
compare this table with ``pg_settings`` of every installation they run on.
"""

from __future__ import annotations


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: (vartype, unit) -> the settings of that kind.
KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("bool", ""): _names(
        "allow_alter_system allow_in_place_tablespaces allow_system_table_mods array_nulls "
        "autovacuum bonjour check_function_bodies data_checksums data_sync_retry "
        "db_user_namespace debug_assertions debug_pretty_print debug_print_parse "
        "debug_print_plan debug_print_rewritten default_transaction_deferrable "
        "default_transaction_read_only enable_async_append enable_bitmapscan "
        "enable_distinct_reordering enable_gathermerge enable_group_by_reordering "
        "enable_hashagg enable_hashjoin enable_incremental_sort enable_indexonlyscan "
        "enable_indexscan enable_material enable_memoize enable_mergejoin enable_nestloop "
        "enable_parallel_append enable_parallel_hash enable_partition_pruning "
        "enable_partitionwise_aggregate enable_partitionwise_join enable_presorted_aggregate "
        "enable_self_join_elimination enable_seqscan enable_sort enable_tidscan "
        "escape_string_warning event_triggers exit_on_error fsync full_page_writes geqo "
        "gss_accept_delegation hot_standby hot_standby_feedback ignore_checksum_failure "
        "ignore_invalid_pages ignore_system_indexes in_hot_standby integer_datetimes jit "
        "jit_debugging_support jit_dump_bitcode jit_expressions jit_profiling_support "
        "jit_tuple_deforming krb_caseins_users lo_compat_privileges log_checkpoints "
        "log_disconnections log_duration log_executor_stats log_hostname log_lock_failures "
        "log_lock_waits log_parser_stats log_planner_stats log_recovery_conflict_waits "
        "log_replication_commands log_statement_stats log_truncate_on_rotation "
        "logging_collector md5_password_warnings parallel_leader_participation "
        "quote_all_identifiers recovery_target_inclusive remove_temp_files_after_crash "
        "restart_after_crash row_security send_abort_for_crash send_abort_for_kill ssl "
        "ssl_passphrase_command_supports_reload ssl_prefer_server_ciphers "
        "standard_conforming_strings summarize_wal sync_replication_slots "
        "synchronize_seqscans syslog_sequence_numbers syslog_split_messages "
        "trace_connection_negotiation trace_notify trace_sort track_activities "
        "track_commit_timestamp track_cost_delay_timing track_counts track_io_timing "
        "track_wal_io_timing transaction_deferrable transaction_read_only "
        "transform_null_equals update_process_title vacuum_truncate wal_init_zero "
        "wal_log_hints wal_receiver_create_temp_slot wal_recycle zero_damaged_pages "
    ),
    ("enum", ""): _names(
        "IntervalStyle archive_mode backslash_quote bytea_output client_min_messages "
        "compute_query_id constraint_exclusion debug_logical_replication_streaming "
        "debug_parallel_query default_toast_compression default_transaction_isolation "
        "dynamic_shared_memory_type file_copy_method file_extend_method force_parallel_mode "
        "huge_pages huge_pages_status icu_validation_level io_method log_error_verbosity "
        "log_min_error_statement log_min_messages log_statement password_encryption "
        "plan_cache_mode recovery_init_sync_method recovery_prefetch recovery_target_action "
        "session_replication_role shared_memory_type ssl_max_protocol_version "
        "ssl_min_protocol_version stats_fetch_consistency synchronous_commit syslog_facility "
        "trace_recovery_messages track_functions transaction_isolation wal_compression "
        "wal_level wal_sync_method xmlbinary xmloption "
    ),
    ("integer", ""): _names(
        "autovacuum_analyze_threshold autovacuum_freeze_max_age autovacuum_max_workers "
        "autovacuum_multixact_freeze_max_age autovacuum_vacuum_cost_limit "
        "autovacuum_vacuum_insert_threshold autovacuum_vacuum_max_threshold "
        "autovacuum_vacuum_threshold autovacuum_worker_slots bgwriter_lru_maxpages block_size "
        "commit_delay commit_siblings data_directory_mode debug_discard_caches "
        "default_statistics_target effective_io_concurrency extra_float_digits "
        "from_collapse_limit geqo_effort geqo_generations geqo_pool_size geqo_threshold "
        "gin_fuzzy_search_limit io_max_concurrency io_workers join_collapse_limit "
        "log_file_mode maintenance_io_concurrency max_active_replication_origins "
        "max_connections max_files_per_process max_function_args max_identifier_length "
        "max_index_keys max_locks_per_transaction max_logical_replication_workers "
        "max_notify_queue_pages max_parallel_apply_workers_per_subscription "
        "max_parallel_maintenance_workers max_parallel_workers "
        "max_parallel_workers_per_gather max_pred_locks_per_page max_pred_locks_per_relation "
        "max_pred_locks_per_transaction max_prepared_transactions max_replication_slots "
        "max_sync_workers_per_subscription max_wal_senders max_worker_processes "
        "num_os_semaphores port reserved_connections scram_iterations server_version_num "
        "shared_memory_size_in_huge_pages superuser_reserved_connections tcp_keepalives_count "
        "unix_socket_permissions vacuum_cost_limit vacuum_cost_page_dirty "
        "vacuum_cost_page_hit vacuum_cost_page_miss vacuum_defer_cleanup_age "
        "vacuum_failsafe_age vacuum_freeze_min_age vacuum_freeze_table_age "
        "vacuum_multixact_failsafe_age vacuum_multixact_freeze_min_age "
        "vacuum_multixact_freeze_table_age wal_block_size "
    ),
    ("integer", "8kB"): _names(
        "backend_flush_after bgwriter_flush_after checkpoint_flush_after "
        "commit_timestamp_buffers effective_cache_size io_combine_limit io_max_combine_limit "
        "min_parallel_index_scan_size min_parallel_table_scan_size multixact_member_buffers "
        "multixact_offset_buffers notify_buffers segment_size serializable_buffers "
        "shared_buffers subtransaction_buffers temp_buffers transaction_buffers wal_buffers "
        "wal_writer_flush_after "
    ),
    ("integer", "B"): _names(
        "log_parameter_max_length log_parameter_max_length_on_error track_activity_query_size "
        "wal_decode_buffer_size wal_segment_size "
    ),
    ("integer", "MB"): _names(
        "max_slot_wal_keep_size max_wal_size min_dynamic_shared_memory min_wal_size "
        "shared_memory_size wal_keep_size "
    ),
    ("integer", "kB"): _names(
        "autovacuum_work_mem gin_pending_list_limit huge_page_size log_rotation_size "
        "log_temp_files logical_decoding_work_mem maintenance_work_mem max_stack_depth "
        "temp_file_limit vacuum_buffer_usage_limit wal_skip_threshold work_mem "
    ),
    ("integer", "min"): _names("log_rotation_age old_snapshot_threshold wal_summary_keep_time "),
    ("integer", "ms"): _names(
        "bgwriter_delay client_connection_check_interval deadlock_timeout "
        "idle_in_transaction_session_timeout idle_session_timeout lock_timeout "
        "log_autovacuum_min_duration log_min_duration_sample log_min_duration_statement "
        "log_startup_progress_interval max_standby_archive_delay max_standby_streaming_delay "
        "recovery_min_apply_delay statement_timeout tcp_user_timeout transaction_timeout "
        "wal_receiver_timeout wal_retrieve_retry_interval wal_sender_timeout wal_writer_delay "
    ),
    ("integer", "s"): _names(
        "archive_timeout authentication_timeout autovacuum_naptime checkpoint_timeout "
        "checkpoint_warning idle_replication_slot_timeout post_auth_delay pre_auth_delay "
        "tcp_keepalives_idle tcp_keepalives_interval wal_receiver_status_interval "
    ),
    ("real", ""): _names(
        "autovacuum_analyze_scale_factor autovacuum_vacuum_insert_scale_factor "
        "autovacuum_vacuum_scale_factor bgwriter_lru_multiplier checkpoint_completion_target "
        "cpu_index_tuple_cost cpu_operator_cost cpu_tuple_cost cursor_tuple_fraction "
        "geqo_seed geqo_selection_bias hash_mem_multiplier jit_above_cost "
        "jit_inline_above_cost jit_optimize_above_cost log_statement_sample_rate "
        "log_transaction_sample_rate parallel_setup_cost parallel_tuple_cost random_page_cost "
        "recursive_worktable_factor seq_page_cost vacuum_max_eager_freeze_failure_rate "
    ),
    ("real", "ms"): _names("autovacuum_vacuum_cost_delay vacuum_cost_delay "),
    ("string", ""): _names(
        "DateStyle TimeZone application_name archive_cleanup_command archive_command "
        "archive_library backtrace_functions bonjour_name client_encoding cluster_name "
        "config_file createrole_self_grant data_directory debug_io_direct "
        "default_table_access_method default_tablespace default_text_search_config "
        "dynamic_library_path event_source extension_control_path extension_destdir "
        "external_pid_file hba_file ident_file jit_provider krb_server_keyfile lc_collate "
        "lc_ctype lc_messages lc_monetary lc_numeric lc_time listen_addresses "
        "local_preload_libraries log_connections log_destination log_directory log_filename "
        "log_line_prefix log_timezone oauth_validator_libraries output_plugin_libraries "
        "primary_conninfo primary_slot_name promote_trigger_file recovery_end_command "
        "recovery_target recovery_target_lsn recovery_target_name recovery_target_time "
        "recovery_target_timeline recovery_target_xid restore_command "
        "restrict_nonsystem_relation_kind search_path server_encoding server_version "
        "session_preload_libraries shared_preload_libraries ssl_ca_file ssl_cert_file "
        "ssl_ciphers ssl_crl_dir ssl_crl_file ssl_dh_params_file ssl_ecdh_curve ssl_groups "
        "ssl_key_file ssl_library ssl_passphrase_command ssl_tls13_ciphers "
        "synchronized_standby_slots synchronous_standby_names syslog_ident temp_tablespaces "
        "timezone_abbreviations unix_socket_directories unix_socket_group "
        "wal_consistency_checking "
    ),
}

#: Settings whose kind was different up to a major version: name -> (last major, kind).
OLDER: dict[str, tuple[int, tuple[str, str]]] = {"log_connections": (17, ("bool", ""))}

#: The values each enum setting takes (PostgreSQL compares them case-insensitively).
ENUMS: dict[str, tuple[str, ...]] = {
    "IntervalStyle": (
        "postgres",
        "postgres_verbose",
        "sql_standard",
        "iso_8601",
    ),
    "archive_mode": (
        "always",
        "on",
        "off",
    ),
    "backslash_quote": (
        "safe_encoding",
        "on",
        "off",
    ),
    "bytea_output": (
        "escape",
        "hex",
    ),
    "client_min_messages": (
        "debug5",
        "debug4",
        "debug3",
        "debug2",
        "debug1",
        "log",
        "notice",
        "warning",
        "error",
    ),
    "compute_query_id": (
        "auto",
        "regress",
        "on",
        "off",
    ),
    "constraint_exclusion": (
        "partition",
        "on",
        "off",
    ),
    "debug_logical_replication_streaming": (
        "buffered",
        "immediate",
    ),
    "debug_parallel_query": (
        "off",
        "on",
        "regress",
    ),
    "default_toast_compression": (
        "pglz",
        "lz4",
    ),
    "default_transaction_isolation": (
        "serializable",
        "repeatable read",
        "read committed",
        "read uncommitted",
    ),
    "dynamic_shared_memory_type": (
        "posix",
        "sysv",
        "mmap",
    ),
    "file_copy_method": (
        "copy",
        "clone",
    ),
    "file_extend_method": (
        "posix_fallocate",
        "write_zeros",
    ),
    "force_parallel_mode": (
        "off",
        "on",
        "regress",
    ),
    "huge_pages": (
        "off",
        "on",
        "try",
    ),
    "huge_pages_status": (
        "off",
        "on",
        "unknown",
    ),
    "icu_validation_level": (
        "disabled",
        "debug5",
        "debug4",
        "debug3",
        "debug2",
        "debug1",
        "log",
        "notice",
        "warning",
        "error",
    ),
    "io_method": (
        "sync",
        "worker",
    ),
    "log_error_verbosity": (
        "terse",
        "default",
        "verbose",
    ),
    "log_min_error_statement": (
        "debug5",
        "debug4",
        "debug3",
        "debug2",
        "debug1",
        "info",
        "notice",
        "warning",
        "error",
        "log",
        "fatal",
        "panic",
    ),
    "log_min_messages": (
        "debug5",
        "debug4",
        "debug3",
        "debug2",
        "debug1",
        "info",
        "notice",
        "warning",
        "error",
        "log",
        "fatal",
        "panic",
    ),
    "log_statement": (
        "none",
        "ddl",
        "mod",
        "all",
    ),
    "password_encryption": (
        "md5",
        "scram-sha-256",
    ),
    "plan_cache_mode": (
        "auto",
        "force_generic_plan",
        "force_custom_plan",
    ),
    "recovery_init_sync_method": (
        "fsync",
        "syncfs",
    ),
    "recovery_prefetch": (
        "off",
        "on",
        "try",
    ),
    "recovery_target_action": (
        "pause",
        "promote",
        "shutdown",
    ),
    "session_replication_role": (
        "origin",
        "replica",
        "local",
    ),
    "shared_memory_type": (
        "sysv",
        "mmap",
    ),
    "ssl_max_protocol_version": (
        "TLSv1",
        "TLSv1.1",
        "TLSv1.2",
        "TLSv1.3",
    ),
    "ssl_min_protocol_version": (
        "TLSv1",
        "TLSv1.1",
        "TLSv1.2",
        "TLSv1.3",
    ),
    "stats_fetch_consistency": (
        "none",
        "cache",
        "snapshot",
    ),
    "synchronous_commit": (
        "local",
        "remote_write",
        "remote_apply",
        "on",
        "off",
    ),
    "syslog_facility": (
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ),
    "trace_recovery_messages": (
        "debug5",
        "debug4",
        "debug3",
        "debug2",
        "debug1",
        "log",
        "notice",
        "warning",
        "error",
    ),
    "track_functions": (
        "none",
        "pl",
        "all",
    ),
    "transaction_isolation": (
        "serializable",
        "repeatable read",
        "read committed",
        "read uncommitted",
    ),
    "wal_compression": (
        "pglz",
        "lz4",
        "zstd",
        "on",
        "off",
    ),
    "wal_level": (
        "minimal",
        "replica",
        "logical",
    ),
    "wal_sync_method": (
        "fsync",
        "fdatasync",
        "open_sync",
        "open_datasync",
    ),
    "xmlbinary": (
        "base64",
        "hex",
    ),
    "xmloption": (
        "content",
        "document",
    ),
}
