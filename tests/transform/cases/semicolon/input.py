import infrar.storage; x = 1
if x: import infrar.storage as st
infrar.storage.delete("b", "p"); st.delete("b", "q")
