-- Cells expected and filled in, per level unit, year and questionnaire block: the respondents'
-- cells (int_completude__structures) summed over every unit each structure belongs to. A table
-- of its own: joined in the same query as the response rates of fct_completude, a survey of a few
-- hundred thousand structures passed DuckDB's memory limit (this aggregation, materialized
-- first, stays within it).
select u.annee, u.niveau, u.code, c.bloc,
       sum(c.cellules_attendues) as cellules_attendues,
       sum(c.cellules_renseignees) as cellules_renseignees
from {{ ref('int_completude__structures') }} as c
join {{ ref('int_unites_structures') }} as u using (annee, code_structure)
group by all
