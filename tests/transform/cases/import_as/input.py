import infrar.storage as st

st.upload('b', 'local.txt', 'remote.txt')
st.download('b', 'remote.txt', 'copy.txt')
for name in st.list_objects('b'):
    st.delete('b', name)
