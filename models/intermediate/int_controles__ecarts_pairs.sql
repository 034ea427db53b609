{{ config(materialized='table', pre_hook='SET threads = 1', post_hook='RESET threads') }}  {#- one thread: each thread holds its own copy of a median's values -#}
-- The median and median absolute deviation of the values, per data year, per kind of structure and
-- measure (ecarts_robustes), around the medians of int_controles__medianes: what
-- int_controles__mesures divides by. A table of its own (see int_controles__medianes).
with logs as (select * from {{ ref('int_controles__valeurs') }}),
medianes as (
    select type_structure, colonne, periode, n, med from {{ ref('int_controles__medianes') }}
    where mediane_de = 'pairs'
)
select * from ({{ ecarts_robustes('logs', 'medianes', 'log_valeur', 'annee', var('controle_min_valeurs')) }})
