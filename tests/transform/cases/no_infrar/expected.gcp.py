# no SDK here: byte for byte the same, even with odd spacing	and tabs
import  os   # comment

def  f( x ) :
	return os.path.join( x ,'infra' )
