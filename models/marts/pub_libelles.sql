-- French labels of the codes the public marts carry (verdicts, target status, levels, kinds of
-- source...).
select domaine, code, libelle, ordre from {{ ref('libelles_codes') }}
