#!/usr/bin/env python3
# import infrar.storage and call through the full dotted name
import json
import infrar.storage


def save(report):
    with open('report.json', 'w') as f:
        json.dump(report, f)  # unchanged
    infrar.storage.upload(bucket='reports', source='report.json', destination='daily/report.json')
