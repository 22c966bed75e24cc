" Description: labelsense language server for labelsense.toml / pyproject.toml
call labelsense#ale#Define('toml')
