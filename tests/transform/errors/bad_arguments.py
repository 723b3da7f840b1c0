from infrar.storage import upload, delete, list_objects

upload("b", "s")
delete("b", "p", "extra")
list_objects(bucket="b", bucket="c")
list_objects("b", sorted=True)
upload(*paths)
delete(**where)
