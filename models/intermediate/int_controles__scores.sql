{{ config(materialized='table') }}  {#- read by validate, which keeps only the values that stand out: built here within DuckDB's memory limit, not in the validation's process -#}
-- Selective (significance) editing: for every measure of int_controles__mesures that stands
-- out, the effect the value could have on each published figure it enters, as statistical
-- offices score their suspicious values:
--     score = |declared - anticipated| / published estimate
-- * anticipated: the structure's previous value times its peers' median change over the same
--   years, or its peers' median when it has no history (int_controles__mesures);
-- * published estimate: the total of that measure over the respondents of the cell (a sum: the
--   indicators of a share or a mean move by about as much, relative to their value), taken with
--   the declared value or with the anticipated one, whichever is larger: the score is the change
--   the value makes to the figure, relative to the larger of the two figures (at most 1, the same
--   for a value ten times too high as for one ten times too low; a value that fell to nothing in a
--   commune whose figure it made is not scored 500 %), for the
--   cells that clear the disclosure minimum: the structure's commune, territory, département
--   and France when several départements are loaded (int_controles__totaux, built once). The
--   federal project's indicators of the survey are computed from the same measures at the
--   département level, which this covers.
-- Only the answer that the published figures read for a structure and data year gets a score
-- (a survey replaced by a later one of the same data year enters nothing). The thresholds are
-- settings (data/config/selection.yaml), applied by the validation rules.

{#- the jump, against the structure's own history when known, else against its peers, as a power
    of ten: within a factor of 1.4 of 10, 100 or 1,000 it may be a unit slip (or a digit too many) -#}
{%- set puissance = 'log10(coalesce(p.facteur_evolution, p.facteur_pairs))' -%}
{%- set pres_de = '(round(P) Q and abs(P - round(P)) <= 0.15)' | replace('P', puissance) -%}
{%- set unite_possible = pres_de | replace('Q', 'between 1 and 3') -%}
{%- set chiffre_en_trop = pres_de | replace('Q', '= 1') -%}
{#- the jump against the structure's own history alone, near 100 (cents) or 1,000 (thousands) to
    within a factor of 1.8 (a quarter of a power of ten): a unit slip also carries the amount's
    own yearly change, which stays below that for most euro amounts -#}
{%- set historique = 'log10(p.facteur_evolution)' -%}
{#- The funding lines and their total: when the lines add up to the total (to rounding), the
    accounts vouch for each of them, however far a line moved from last year's (small lines come
    and go) -#}
{%- set lignes_financement = ['produits_total', 'caf_ps_agc', 'caf_ps_acf', 'caf_autres', 'communes_interco',
                              'departement', 'region', 'etat', 'europe', 'usagers', 'autres_produits'] -%}
{%- set lignes_sporadiques = ['caf_ps_acf', 'caf_autres', 'departement', 'region', 'etat', 'europe', 'usagers',
                              'autres_produits'] %}
with retenues as (
    select annee, annee_enquete, code_structure, code_commune, code_territoire, code_departement,
           {{ plusieurs_departements() }} as avec_national
    from {{ ref('int_structures_annees') }}
    where est_repondant
),
totaux as (select * from {{ ref('int_controles__totaux') }}),
anticipees as (
    select
        m.*,
        case when m.valeur_reference is not null and m.evolution_mediane is not null
             then m.valeur_reference * m.evolution_mediane else m.mediane_pairs end as valeur_anticipee
    from {{ ref('int_controles__mesures') }} as m
    -- only the values that stand out at all are scored (the validation rules look at nothing
    -- below: their lowest z-score is 3.5); scoring 1.7 million values at national scale would
    -- cost seconds and a gigabyte for nothing
    where m.valeur < 0 or abs(m.z_pairs) >= {{ var('controle_z_min') }} or m.facteur_pairs >= 100
       or abs(m.z_evolution) >= {{ var('controle_z_min') }}
),
-- int_controles__mesures is read once: each value meets the totals of its cells in one pass
scores as (
    select
        a.*,
        abs(a.valeur - a.valeur_anticipee) as ecart_anticipe,
        {%- for alias, niveau in [('tc', 'commune'), ('tt', 'territoire'), ('td', 'departement'), ('tn', 'national')] %}
        abs(a.valeur - a.valeur_anticipee)
            / nullif(greatest(abs({{ alias }}.total), abs({{ alias }}.total - a.valeur + a.valeur_anticipee)), 0)
            as score_{{ niveau }},
        {%- endfor %}
        r.code_commune, r.code_territoire, r.code_departement,
        tc.total as total_commune, tt.total as total_territoire, td.total as total_departement,
        tn.total as total_national
    from anticipees as a
    left join retenues as r
      on r.code_structure = a.code_structure and r.annee = a.annee_donnees and r.annee_enquete = a.annee_enquete
    left join totaux as tc
      on tc.niveau = 'commune' and tc.annee = r.annee and tc.code = r.code_commune and tc.colonne = a.colonne
    left join totaux as tt
      on tt.niveau = 'territoire' and tt.annee = r.annee and tt.code = r.code_territoire and tt.colonne = a.colonne
    left join totaux as td
      on td.niveau = 'departement' and td.annee = r.annee and td.code = r.code_departement and td.colonne = a.colonne
    left join totaux as tn
      on tn.niveau = 'national' and tn.annee = r.annee and r.avec_national and tn.colonne = a.colonne
),
par_valeur as (
    select
        * exclude (code_commune, code_territoire, code_departement, total_commune, total_territoire,
                   total_departement, total_national),
        greatest(score_commune, score_territoire, score_departement, score_national) as score,
        -- the figure the value moves most, relative to its value
        case greatest(score_commune, score_territoire, score_departement, score_national)
            when score_commune then 'commune' when score_territoire then 'territoire'
            when score_departement then 'departement' when score_national then 'national'
        end as niveau_score,
        case greatest(score_commune, score_territoire, score_departement, score_national)
            when score_commune then code_commune when score_territoire then code_territoire
            when score_departement then code_departement when score_national then 'FR'
        end as code_score,
        case greatest(score_commune, score_territoire, score_departement, score_national)
            when score_commune then total_commune when score_territoire then total_territoire
            when score_departement then total_departement when score_national then total_national
        end as total_score
    from scores
)
select
    p.*,
    q.nature,
    coalesce(p.colonne in ({% for c in lignes_financement %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
             and f.ecart_financeurs <= 0.001, false) as financeurs_concordants,
    -- a small funding line (they come and go, from a few euros to thousands) of a structure that
    -- declared no total income: nothing to check it against
    coalesce(p.colonne in ({% for c in lignes_sporadiques %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
             and f.ecart_financeurs is null, false) as ligne_sans_total,
    -- a funding line off the total by a unit slip: read in euros instead of cents (/100) or of
    -- thousands (x1,000), the line brings the lines back onto the total income (to 0.1 %); or the
    -- total income itself, read so, meets its lines
    case
        when p.colonne in ({% for c in lignes_financement[1:] %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
             and f.produits_total > 0 and f.ecart_financeurs > 0.001 then
            case when abs(f.somme_financeurs - p.valeur + p.valeur / 100 - f.produits_total) <= 0.001 * f.produits_total
                     then 100
                 when abs(f.somme_financeurs - p.valeur + p.valeur * 1000 - f.produits_total) <= 0.001 * f.produits_total
                     then 1000 end
        when p.colonne = 'produits_total' and f.somme_financeurs > 0 and f.ecart_financeurs > 0.001 then
            case when abs(f.somme_financeurs - p.valeur / 100) <= 0.001 * p.valeur / 100 then 100
                 when abs(f.somme_financeurs - p.valeur * 1000) <= 0.001 * p.valeur * 1000 then 1000 end
    end as unite_financeurs,
    -- a funding line that fell by a unit's factor (against its history, or without history below
    -- its peers), read back at that factor, would alone exceed the structure's whole income: the
    -- accounts rule out the thousands slip the jump suggests (a line is a part of the income)
    coalesce(p.colonne in ({% for c in lignes_financement[1:] %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %})
             and p.valeur > 0 and f.produits_total > 0
             and case when p.facteur_evolution is not null then p.valeur < p.valeur_reference
                      else p.valeur < p.mediane_pairs end
             and p.valeur * 10 ^ round({{ puissance }}) > f.produits_total, false) as unite_contredite,
    case when {{ unite_possible }} then (10 ^ round({{ puissance }}))::bigint end as facteur_unite,
    case when round({{ historique }}) between 2 and 3 and abs({{ historique }} - round({{ historique }})) <= 0.25
         then (10 ^ round({{ historique }}))::bigint end as unite_historique,
    -- what may have gone wrong, in words that fit the measure: a unit slip only for euros and
    -- for a jump near 100 or 1,000 (cents, thousands; or of at least 30); a count gets the causes
    -- of a count
    case
        when q.nature = 'euros' and {{ unite_possible }} and round({{ puissance }}) >= 2
            then 'un montant saisi dans une autre unité (rapport proche de ' || (10 ^ round({{ puissance }}))::bigint
                 || ' : euros, k€ ou centimes) ?'
        when q.nature = 'euros' and coalesce(p.facteur_evolution, p.facteur_pairs) >= 30
            then 'un montant saisi dans une autre unité (centimes, euros ou milliers d''euros) ?'
        when q.nature = 'euros'
            then 'un montant d''une autre ligne ou d''une autre année, une faute de frappe, ou un changement réel à confirmer ?'
        when q.nature = 'etp'
            then 'des salariés comptés au lieu d''ETP, une virgule mal placée, ou un changement réel à confirmer ?'
        when q.nature = 'heures'
            then 'des heures par semaine ou des jours au lieu d''heures dans l''année, une faute de frappe, '
                 || 'ou un changement réel à confirmer ?'
        when {{ chiffre_en_trop }}
            then 'un chiffre en trop ou en moins (faute de frappe), le chiffre d''une autre année ou d''un autre site, '
                 || 'ou un changement réel à confirmer ?'
        else 'le chiffre d''une autre année ou d''un autre site, une faute de frappe, ou un changement réel à confirmer ?'
    end as causes,
    -- the figure in words, for the quality page: « les familles touchées du département (Hauts-de-Seine) »
    coalesce(q.libelle_court, p.colonne) || ' ' || case p.niveau_score
        -- a name in brackets, as the département's: « de la commune de Issy… », « de Le Havre » are not French
        when 'commune' then 'de la commune (' || coalesce(com.nom_commune, p.code_score) || ')'
        when 'territoire' then 'du territoire ' || coalesce(ter.nom_ept, dep.nom_departement, p.code_score)
        when 'departement' then 'du département (' || coalesce(dep.nom_departement, p.code_score) || ')'
        when 'national' then coalesce('des départements de la fédération ('
                                      || nullif({{ libelle_national() }}, 'France') || ')', 'de la France')
    end as figure_score
from par_valeur as p
left join {{ ref('questions_enquete') }} as q on q.colonne = p.colonne
left join {{ ref('int_controles__reponses') }} as f
  on f.annee_enquete = p.annee_enquete and f.code_structure = p.code_structure
left join {{ ref('stg_referentiel__communes') }} as com
  on p.niveau_score = 'commune' and com.code_insee = p.code_score
left join (select distinct code_ept, nom_ept from {{ ref('stg_referentiel__communes') }} where code_ept is not null) as ter
  on p.niveau_score = 'territoire' and ter.code_ept = p.code_score
left join {{ ref('stg_referentiel__departements') }} as dep
  on p.niveau_score in ('territoire', 'departement') and dep.code_departement = p.code_score
