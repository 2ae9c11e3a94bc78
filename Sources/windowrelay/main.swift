print("windowrelay")
