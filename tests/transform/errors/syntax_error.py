from infrar.storage import upload

def f(:
    upload("b", "s", "d")
