{{ config(materialized='table', pre_hook='SET threads = 1', post_hook='RESET threads') }}  {#- one thread: each thread holds its own copy of a median's values -#}
-- The medians int_controles__mesures compares each value with, per kind of structure and measure:
-- of the values, per data year ('pairs'), and of their changes, per pair of years ('evolution').
-- A table of its own, as the deviations around these medians (int_controles__ecarts_*): DuckDB
-- holds every value of a group to take its median and writes none of them to disk, so these
-- medians are taken one query at a time over the values' table (a 195 MiB survey file: 21
-- million values, past DuckDB's memory limit when computed in one query with the deviations).
with logs as (select * from {{ ref('int_controles__valeurs') }})
select 'pairs' as mediane_de, * from ({{ medianes_robustes('logs', 'log_valeur', 'annee') }})
union all
select 'evolution' as mediane_de, * from ({{ medianes_robustes('logs', 'log_evolution', 'periode_evolution') }})
