package test
# exp print 1, undefined
p if { every x in [1, 2] { x < 2; print(x) } }
