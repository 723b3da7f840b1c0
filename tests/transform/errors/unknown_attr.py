import infrar.storage as st

if True:
    st.frobnicate(bucket="b")
