from infrar.storage import list_objects, download

files = list_objects(bucket='my-bucket', prefix='data/')
count = len(list_objects('my-bucket')) + 1
first, *rest = list_objects('my-bucket') or ['none']
ok = download('b', 'k', 'p') is None
print(files, count, first, rest, ok)
