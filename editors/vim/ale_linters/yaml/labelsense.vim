" Description: labelsense language server for class taxonomies (runs only
" inside a labelsense project, or for a file named taxonomy.yaml)
call labelsense#ale#Define('yaml')
