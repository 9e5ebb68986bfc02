"""The coded-needs catalogue: ICD-10 Z55-Z65 and SNOMED CT, need domains, lay-language search."""
