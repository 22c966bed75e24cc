" Description: labelsense language server for JSONL manifests (dataset labels)
call labelsense#ale#Define('jsonl')
