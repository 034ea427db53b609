{{ config(materialized='view') }}  {#- read once, by validate, which keeps only what stands out: a table would write 1.7 M rows at national scale for nothing #}
-- depends_on: {{ ref('stg_senacs__colonnes') }}
-- Plausibility of every numeric measure, set-wise: one row per respondent x survey x measure
-- with a known value (corrections applied), compared with
--   * its peers: the modified z-score of DHIS2's outlier analysis, 0.6745 (x - median) / MAD,
--     on the logarithm of the value (counts and amounts are multiplicative), among the
--     structures of the same kind (CS / EVS) and data year (the kind's usual figures when the
--     year has fewer than 10 values);
--   * its own history: the change since the structure's previous known value (at most two years
--     back), as a factor and as a modified z-score among the same peers' changes;
--   * a related field (employees and FTE, charges and produits...): whether it moved with the
--     value, or stands out from its peers as much (a large centre is large everywhere).
-- The thresholds are in expectations/rules.py; this model only measures.
{%- set numeriques = mesures_numeriques() -%}
{%- set mesures, entiers = numeriques.mesures, numeriques.entiers -%}
{#- Small funding lines come and go from one year to the next: no history check (their sum is
    checked against produits_total in int_controles__reponses). -#}
{%- set sans_historique = ['caf_ps_acf', 'caf_autres', 'departement', 'region', 'etat', 'europe', 'usagers',
                           'autres_produits'] -%}
{#- Fields that move together with their related field (a part of a whole does not: a few more
    employees trained while the staff stays put is no contradiction). -#}
{%- set ensemble = ['salaries', 'etp_total', 'charges_total', 'produits_total', 'valorisation_benevolat',
                    'heures_benevolat', 'benevoles_activite', 'habitants_touches', 'familles_touchees'] -%}
{#- Counts (people, projects...) below this are too small for a ratio to mean anything. -#}
{%- set plus_petit_compte = 10 -%}
{#- Totals whose unusually *low* value is worth a look too (elsewhere a low value is legitimate). -#}
{%- set controle_bas = ['charges_total', 'produits_total', 'salaries', 'etp_total', 'habitants_touches'] %}
with logs as (select * from {{ ref('int_controles__valeurs') }}),
stats_pairs as (select * from {{ ref('int_controles__ecarts_pairs') }}),
stats_evolution as (select * from {{ ref('int_controles__ecarts_evolution') }}),
mesurees as (
    select
        logs.*,
        exp(p.med) as mediane_pairs,
        0.6745 * (log_valeur - p.med) / nullif(p.mad, 0) as z_pairs,
        -- the reference value against its own year's peers
        0.6745 * abs(ln(nullif(greatest(valeur_reference, 0), 0)) - r.med) / nullif(r.mad, 0) as z_pairs_reference,
        -- the related field against its own peers
        0.6745 * (log_valeur_liee - l.med) / nullif(l.mad, 0) as z_pairs_liee,
        exp(e.med) as evolution_mediane,
        0.6745 * (log_evolution - e.med) / nullif(e.mad, 0) as z_evolution
    from logs
    left join stats_pairs as p
      on p.type_structure = logs.type_structure and p.colonne = logs.colonne and p.periode = logs.annee
    left join stats_pairs as r
      on r.type_structure = logs.type_structure and r.colonne = logs.colonne and r.periode = logs.annee_reference
    left join stats_pairs as l
      on l.type_structure = logs.type_structure and l.colonne = logs.colonne_liee and l.periode = logs.annee
    left join stats_evolution as e
      on e.type_structure = logs.type_structure and e.colonne = logs.colonne and e.periode = logs.periode_evolution
)
select
    annee_enquete, annee as annee_donnees, code_structure, type_structure, ligne_source, colonne, valeur,
    mediane_pairs, z_pairs,
    exp(abs(log_valeur - ln(mediane_pairs))) as facteur_pairs,
    abs(valeur - mediane_pairs) as ecart_pairs,
    -- a change (or a gap to the median) smaller than this is too small to question: a typical
    -- structure's whole value, and for counts at least {{ plus_petit_compte }}
    greatest(mediane_pairs, case when colonne in ({% for c in entiers %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
                                 then {{ plus_petit_compte }} else 0 end) as ecart_minimal,
    colonne in ({% for c in controle_bas %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %}) as controle_bas,
    annee_reference, valeur_reference,
    exp(abs(log_evolution)) as facteur_evolution,
    abs(valeur - valeur_reference) as ecart_evolution,
    evolution_mediane, z_evolution,
    colonne not in ({% for c in sans_historique %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %}) as controle_historique,
    -- moving away from what its peers declare (the year *after* a wrong value, which comes back
    -- towards the norm, is not the one to question)
    coalesce(abs(z_pairs) > z_pairs_reference, true) as s_eloigne_des_pairs,
    -- the structure declared about as much the year before: its own history vouches for the value
    coalesce(abs(log_evolution) <= ln(2), false) as conforme_a_l_historique,
    colonne_liee, valeur_liee, valeur_liee_reference,
    -- the related field stands out from its peers the same way, by at least half as much
    coalesce(sign(z_pairs_liee) = sign(z_pairs) and abs(z_pairs_liee) >= abs(z_pairs) / 2, false)
        as pairs_corroboree,
    -- the related field moved the same way, by at least half as much (on a log scale)
    coalesce(sign(log_evolution_liee) = sign(log_evolution)
             and abs(log_evolution_liee) >= abs(log_evolution) / 2, false) as corroboree,
    -- for fields that move together, the related field, known both years, stayed where it was
    -- (within a factor of 1.5): FTE multiplied by 7 with the same staff, staff by 10 with the same FTE
    colonne in ({% for c in ensemble %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
        and coalesce(abs(log_evolution_liee) <= ln(1.5), false) as dementie
from mesurees
