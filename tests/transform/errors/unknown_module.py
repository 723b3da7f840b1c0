import infrar.nosuch
