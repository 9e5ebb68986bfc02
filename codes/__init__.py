"""The coded-needs catalogue (domain core): ICD-10 Z55-Z65 and SNOMED CT, need domains,
lay-language search. ``catalogue`` loads and checks the data; ``search`` finds codes.

Public API (data files beside this module, loaded and checked once):

- ``codes.catalogue.load_catalogue() -> Catalogue`` (cached); ``load_catalogue_from(dir)``
  loads another folder (raises ``CatalogueError``, a ``ValueError``, on a malformed file).
- ``Catalogue.get(code) -> CodedNeed`` ("Z59.0", "z590", "Z59" or a SNOMED CT id; LookupError
  if unknown), ``Catalogue.all()`` (ICD-10 codes in order), ``Catalogue.snomed_concepts``,
  ``Catalogue.domains() -> list[Domain]``, ``Catalogue.domain(key)``, ``Catalogue.in_domain(key)``
  (empty for digital, transport, fuel, wellbeing: such needs are recorded by domain alone).
- ``CodedNeed``: ``code``, ``system``, ``display``, ``domain``, ``snomed`` ((id, term), ...),
  ``synonyms``, ``maps_to`` (for a SNOMED concept: the ICD-10 code it refines), ``to_dict()``.
- ``codes.search.search_codes(catalogue, text, limit=10) -> list[CodeMatch]`` (``code``,
  ``display``, ``system``, ``domain``, ``score`` 0-100, ``why``), best first.
- ``codes.search.match_domains(catalogue, text, limit=5) -> list[(domain key, weight 0-1)]``,
  covering the domains with no Z code too.
- ``codes.search.expand_query(catalogue, text, limit=5) -> list[(text, weight 0-1)]``: domain
  labels and descriptions, code titles and lay phrases related to a free-text need.
"""
